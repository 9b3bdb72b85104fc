# Queen ingest load generator (docs/performance.md, "Queen ingest"): K simulated Hives push
# snapshots to a real rbee-queen child. The ctest entry is a few seconds long and checks only
# that every configuration got answers and printed figures.
add_executable(rbee-bench-queen-ingest
  ${CMAKE_CURRENT_LIST_DIR}/queen_ingest_load.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ingest_load.cpp
  ${CMAKE_CURRENT_LIST_DIR}/child_queen.cpp)
# The child Queen is started with the integration harness (tests/integration/harness.h).
target_link_libraries(rbee-bench-queen-ingest PRIVATE rbee_test_harness)
add_test(NAME bench:queen-ingest COMMAND rbee-bench-queen-ingest --smoke)
set_tests_properties(bench:queen-ingest PROPERTIES LABELS bench TIMEOUT 60)
