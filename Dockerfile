# syntax=docker/dockerfile:1

# Build stage: a static binary (no cgo; the SQLite driver is pure Go).
FROM golang:1.26 AS build
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

# Final stage: distroless, no shell, runs as the unprivileged "nonroot" user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/collections /collections
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/collections"]
