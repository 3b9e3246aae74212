-- The chunk index keeps its name: operators' queries and dashboards that name it still work.
ALTER INDEX knowledge_chunks_embedding_candidates_idx RENAME TO knowledge_chunks_embedding_idx;
