# Builds of cmd/cuttle: static (CGO_ENABLED=0), without local paths
# (-trimpath) or symbol tables (-s -w), with the version stamped into
# main.version.
#
#   make build     cuttle for this machine, in dist/bin/cuttle
#   make release   cuttle for Linux on amd64, arm64, armv6 and armv7, in
#                  dist/bin/cuttle-$(VERSION)-linux-<arch>, with their SHA-256
#                  sums in dist/bin/cuttle-$(VERSION).sha256
#   make clean     removes dist/bin
#
# VERSION defaults to git describe (v1.2.3, v1.2.3-4-gabcdef0, -dirty when
# the tree has changes) and to 0.1.0-dev outside a git checkout; override it
# with make release VERSION=1.2.3. make -j4 release builds the four at once.

# GIT_OPTIONAL_LOCKS=0: describe --dirty must not take the index lock that a
# concurrent git command in the same checkout may need.
ifndef VERSION
VERSION := $(shell GIT_OPTIONAL_LOCKS=0 git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
endif

GO      ?= go
BIN     := dist/bin
PKG     := ./cmd/cuttle
LDFLAGS := -s -w -X main.version=$(VERSION)
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"

# The release platforms, as <name>:<GOARCH>:<GOARM>.
PLATFORMS := amd64:amd64: arm64:arm64: armv6:arm:6 armv7:arm:7
RELEASE   := $(foreach p,$(PLATFORMS),$(BIN)/cuttle-$(VERSION)-linux-$(word 1,$(subst :, ,$(p))))

.PHONY: build release clean FORCE

build:
	@mkdir -p $(BIN)
	$(GOBUILD) -o $(BIN)/cuttle $(PKG)

release: $(RELEASE)
	cd $(BIN) && sha256sum $(notdir $(RELEASE)) > cuttle-$(VERSION).sha256
	@cat $(BIN)/cuttle-$(VERSION).sha256

# One rule per platform. FORCE: go build decides what is out of date.
define platform
$(BIN)/cuttle-$(VERSION)-linux-$(1): FORCE
	@mkdir -p $(BIN)
	GOOS=linux GOARCH=$(2) GOARM=$(3) $(GOBUILD) -o $$@ $(PKG)
endef
$(foreach p,$(PLATFORMS),$(eval $(call platform,$(word 1,$(subst :, ,$(p))),$(word 2,$(subst :, ,$(p))),$(word 3,$(subst :, ,$(p))))))

clean:
	rm -rf $(BIN)

FORCE:
