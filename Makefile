# The two commands of the README are `make demo` and `make test`; both install what is missing first.
BUILD       ?= build
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= $(shell nproc)
# CI (CI=true) treats warnings as errors.
WERROR      := $(if $(CI),ON,OFF)
CMAKE_FLAGS ?=
CTEST_ARGS  ?=

.PHONY: all deps configure build test unit integration demo bench format asan clean kernel

all: build

deps:
	@bash scripts/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DMCPVM_WERROR=$(WERROR) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Every test: unit, integration (real registry, real QEMU under TCG) and e2e (real MCP clients).
test: build
	@bash scripts/test-setup.sh $(BUILD)
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

unit: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) -L unit

integration: build
	@bash scripts/test-setup.sh $(BUILD)
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) -L integration

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: build
	@bash bench/run.sh $(BUILD)

# Optional: a minimal guest kernel with everything built in (docs/boot.md); nothing depends on it.
kernel:
	@bash scripts/build-kernel.sh

# The unit tests and fuzz replays under ASan+UBSan (a sanitizer build cannot link the static guest init,
# so no VM boots there; see src/guest/CMakeLists.txt).
asan:
	@$(MAKE) unit BUILD=build-asan CMAKE_FLAGS="-DMCPVM_SANITIZE=ON"

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-asan
