-- Each chunk's quotable sentences with the vectors of their embedding input, computed when the
-- product is synced, so answering a question embeds only the question. NULL: synced before
-- sentences were stored (the answer embeds them then, and the next sync stores them).
ALTER TABLE knowledge_chunks
    ADD COLUMN sentences text[],
    ADD COLUMN sentence_embeddings vector(384)[],
    ADD CONSTRAINT knowledge_chunks_sentences_check CHECK (
        (sentences IS NULL) = (sentence_embeddings IS NULL)
        AND coalesce(cardinality(sentences), 0) = coalesce(cardinality(sentence_embeddings), 0)
    );
