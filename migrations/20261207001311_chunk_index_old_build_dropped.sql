-- no-transaction
-- The chunk index of pgvector's default build, replaced by the previous migration's.
DROP INDEX CONCURRENTLY IF EXISTS knowledge_chunks_embedding_idx;
