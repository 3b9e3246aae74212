# Build the `recete` binary once; the same image runs the API, the workers and migrations.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin recete

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 recete
COPY --from=build /src/target/release/recete /usr/local/bin/recete
USER recete
ENTRYPOINT ["recete"]
