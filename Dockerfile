# syntax=docker/dockerfile:1
# Multi-stage build of the single static iwom binary. gse's dictionary, the
# sentiment model, the default config and watch-list and the ClickHouse DDL
# are embedded in the binary, so the runtime image needs nothing else.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/iwom ./cmd/iwom \
 && /out/iwom analyze --text "招商银行的微信值机服务太方便了[赞]" >/dev/null

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/iwom /usr/local/bin/iwom
# Embedded NATS (single-container runs) keeps JetStream files here.
WORKDIR /var/lib/iwom
ENV IWOM_DATA_DIR=/var/lib/iwom
USER nonroot:nonroot
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/iwom"]
CMD ["run"]
