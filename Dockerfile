# syntax=docker/dockerfile:1
#
# latch in a container: a static binary (CGO off: the SQLite driver is pure
# Go) on a distroless base, running as a non-root user, with a health check
# by `latch healthcheck` (GET /readyz; the image has no shell or curl).
#
#   docker build -t latch --build-arg VERSION="$(git describe --tags --always)" --build-arg COMMIT="$(git rev-parse HEAD)" .
#   docker run -e LATCH_SECRET=… -e LATCH_ADMIN_TOKEN=… -p 8080:8080 -v latch-data:/data latch
#
# See compose.yaml for PostgreSQL, Redis and two instances.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/latchauth/latch/internal/cli.Version=${VERSION} -X github.com/latchauth/latch/internal/cli.Commit=${COMMIT}" \
      -o /out/latch ./cmd/latch \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/latch /latch
# The SQLite default keeps its file here; mount a volume to keep it.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV LATCH_LISTEN=0.0.0.0:8080 LATCH_DB=sqlite:/data/latch.db
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["/latch", "healthcheck"]
ENTRYPOINT ["/latch"]
CMD ["serve"]
