# Build the `recete` binary once; the same image runs the API, the workers and migrations.
FROM rust:1-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip unzip && rm -rf /var/lib/apt/lists/*
COPY . .
RUN bash scripts/models.sh && cargo build --release --bin recete

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 recete
COPY --from=build /src/target/release/recete /usr/local/bin/recete
# The local embedding model, read at start from embedding.model_dir (relative to /app).
COPY --from=build /src/models /app/models
WORKDIR /app
USER recete
ENTRYPOINT ["recete"]
