# Tools used by the build.
TOOLS_DIR := .tools
GORELEASER_URL := https://github.com/goreleaser/goreleaser/releases/latest/download/goreleaser_Linux_x86_64.tar.gz

$(TOOLS_DIR)/protoc-gen:
	mkdir -p $(TOOLS_DIR)
	curl -fsSL -o $(TOOLS_DIR)/protoc-gen https://example.com/protoc-gen-linux-amd64
	chmod +x $(TOOLS_DIR)/protoc-gen
	$(TOOLS_DIR)/protoc-gen --version

bump:
	perl -pi -e 's/^version = ".*"/version = "$(NEW)"/' Cargo.toml
