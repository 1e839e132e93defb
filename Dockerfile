# syntax=docker/dockerfile:1
#
# The goimmich image: the static binary on a distroless base (CA
# certificates and time zones, no shell), run as an unprivileged user.
# Built for linux/amd64, linux/arm64 and linux/arm/v7 by
# .github/workflows/release.yml; the Go stage runs on the build machine and
# cross-compiles, so no emulation is needed. See docs/container.md.
#
#   docker build --build-arg VERSION=v1.2.3 -t goimmich .
#   docker run --rm goimmich version

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH TARGETVARIANT
# The release, commit and date "goimmich version" prints.
ARG VERSION=dev COMMIT= DATE=
RUN CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH" GOARM="${TARGETVARIANT#v}" \
	go build -trimpath -o /out/goimmich \
	-ldflags "-s -w -X main.version=${VERSION} \
	-X github.com/goimmich/goimmich/internal/cli/version.commit=${COMMIT} \
	-X github.com/goimmich/goimmich/internal/cli/version.date=${DATE}" \
	./cmd/goimmich \
	&& mkdir -p /out/cache

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/goimmich /usr/local/bin/goimmich
# The hash cache (unchanged files are not read again on the next run) lives
# in /cache: mount a volume there to keep it across restarts.
COPY --from=build --chown=65532:65532 /out/cache /cache
ENV XDG_CACHE_HOME=/cache
VOLUME ["/cache"]
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/goimmich"]
CMD ["--help"]
