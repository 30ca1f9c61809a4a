# usher: one static binary in a distroless image that runs as a non-root user.
#   docker build -t usher .
#   docker run -p 8080:8080 -v usher-data:/data usher
# deploy/compose.yaml runs the scaled-out deployment.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: the SQLite driver is pure Go, so the binary needs no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/usher ./cmd/usher

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/usher /usr/local/bin/usher
# 65532 is the image's "nonroot" user; /data must be writable by it.
USER 65532:65532
ENV USHER_ADDR=0.0.0.0:8080 \
    USHER_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/usher"]
CMD ["serve"]
