# syntax=docker/dockerfile:1
# Multi-stage build of the single static iwom binary: the pipeline and the
# operator's tools (iwomlab, the development binary, is not built). gse's
# dictionary, the sentiment model, the default config and watch-list, the
# ClickHouse DDL and the dashboard (with its ECharts bundle) are embedded in
# the binary; the runtime image adds only a CJK font.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/iwom ./cmd/iwom \
 && /out/iwom analyze --text "招商银行的微信值机服务太方便了[赞]" >/dev/null \
 && mkdir -p /out/data/sink-state

# A CJK font (Noto Sans CJK, regular, from Debian's fonts-noto-cjk: the one
# the dashboard's browser test renders with), for anything in the container
# that renders Chinese, such as a headless browser taking dashboard
# screenshots from this image.
FROM debian:bookworm-slim AS fonts
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/iwom /usr/local/bin/iwom
COPY --from=fonts /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc /usr/share/fonts/opentype/noto/
COPY --from=fonts /usr/share/fontconfig/conf.avail/70-fonts-noto-cjk.conf /etc/fonts/conf.d/
# Embedded NATS (single-container runs) keeps JetStream files here, and
# the sink its state store (sink-state: compose mounts a volume there).
# Owned by the runtime user, so that a named volume mounted below it is too.
COPY --from=build --chown=nonroot:nonroot /out/data /var/lib/iwom
WORKDIR /var/lib/iwom
ENV IWOM_DATA_DIR=/var/lib/iwom
USER nonroot:nonroot
# 8080: iwom serve (dashboard and report API); 9090: metrics.
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/iwom"]
CMD ["run"]
