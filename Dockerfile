# Two stages: build on Debian bookworm with the -dev packages, run on bookworm-slim with only the
# shared libraries. The image holds one binary, certcast, also reachable as kubectl-certcast.
FROM debian:bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config git ca-certificates \
        libcurl4-openssl-dev libcjson-dev libyaml-dev libwebsockets-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make BUILD=/out VERSION="$(cat VERSION 2>/dev/null || echo 0.1.0)" /out/certcast

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates tzdata publicsuffix libcurl4 libcjson1 libyaml-0-2 libwebsockets17 libssl3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/certcast /usr/local/bin/certcast
RUN ln -s certcast /usr/local/bin/kubectl-certcast
USER 65532:65532
EXPOSE 9403
ENTRYPOINT ["/usr/local/bin/certcast"]
CMD ["controller"]
