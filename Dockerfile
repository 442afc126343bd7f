# syntax=docker/dockerfile:1

# Build stage: a static binary (no cgo; the SQLite driver is pure Go), without
# the embedded Temporal server and Web UI (-tags nodev: no `dev` command).
# The Go version is go.mod's (a test keeps them equal; GOTOOLCHAIN=local in
# the image, so an older Go would refuse to build).
FROM golang:1.26.8 AS build
WORKDIR /src

# Download modules in their own layer so code changes do not refetch them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -tags nodev \
        -o /out/collections ./cmd/collections

# Final stage: distroless (CA certificates and time zone data, no shell, no
# package manager), running as the unprivileged "nonroot" user (65532). The
# compose services add their healthchecks with `collections healthcheck URL`.
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="collections" \
      org.opencontainers.image.description="Collections engine: api, worker and migrate in one binary" \
      org.opencontainers.image.licenses="see the repository"
COPY --from=build /out/collections /collections
EXPOSE 8080 9090
USER nonroot:nonroot
ENTRYPOINT ["/collections"]
