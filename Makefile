# brood: `make demo` runs a local cluster, `make test` runs every test.
# Each target installs missing Debian packages first (scripts/deps.sh), then builds with CMake.
PYTHON   := /usr/bin/python3
JOBS     ?= $(shell nproc)
BUILD    := build/release
FUZZ     := build/fuzz
SAN      := build/sanitize
CMAKE_COMMON := -G Ninja -DPython3_EXECUTABLE=$(PYTHON)
FUZZ_SECONDS ?= 10

.PHONY: all deps build demo test test-release test-fuzz sanitize format format-check bench clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	examples/primes/demo.sh $(BUILD)
	examples/fibcalc/run.sh $(BUILD)
	examples/mako/run.sh $(BUILD)
	examples/spooler/run.sh $(BUILD)
	examples/emperor/run.sh $(BUILD)
	examples/broodlord/run.sh $(BUILD)
	examples/subscription/run.sh $(BUILD)
	examples/forkserver/run.sh $(BUILD)
	examples/legion/run.sh $(BUILD)
	examples/legion/placement.sh $(BUILD)

test: test-release test-fuzz

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

$(FUZZ)/build.ninja: | deps
	CXX=clang++-14 cmake -S . -B $(FUZZ) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DBROOD_ONLY_WIRE=ON -DBROOD_FUZZ=ON

test-fuzz: deps $(FUZZ)/build.ninja
	cmake --build $(FUZZ) -j $(JOBS)
	cd $(FUZZ) && BROOD_FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --output-on-failure -j $(JOBS) -L fuzz

$(SAN)/build.ninja: | deps
	CXX=clang++-14 cmake -S . -B $(SAN) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DBROOD_SANITIZE=ON

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs this too). Only the
# unit-test executables are built: the programs and integration tests are not run here.
UNIT_TESTS = wire_tests os_tests client_tests spooler_tests node_tests emperor_tests cli_tests
sanitize: deps $(SAN)/build.ninja
	cmake --build $(SAN) -j $(JOBS) --target $(UNIT_TESTS)
	cd $(SAN) && ctest --output-on-failure -j $(JOBS) -L unit --timeout 300

bench: build
	bench/run_all.sh $(BUILD)

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build
