// Package deploy holds no production code. It only contains tests that check
// the repository's deployment files (docker-compose.yml, Dockerfile and
// friends at the repository root) so that a broken service graph, a missing
// healthcheck or a Dockerfile that no longer builds the right binary is
// caught by `go test` instead of at `docker compose up`.
package deploy
