# Hive benchmarks with real daemons (docs/performance.md, "Hive footprint" and "Birth/death
# latency"). Both need root and cgroup v2 and exit 77 (skipped) without them. The ctest entries
# are smoke runs of a few seconds that check only that they ran and printed numbers.

# Worker birth/death on the node → the Queen's /v1/events.
add_executable(rbee-bench-event-latency ${CMAKE_CURRENT_SOURCE_DIR}/event_latency.cpp)
target_link_libraries(rbee-bench-event-latency PRIVATE rbee_test_harness)
target_compile_options(rbee-bench-event-latency PRIVATE -Wno-missing-field-initializers)
add_test(NAME bench:event-latency COMMAND rbee-bench-event-latency --events 20)
set_tests_properties(bench:event-latency PROPERTIES LABELS bench TIMEOUT 60 SKIP_RETURN_CODE 77)

# RSS, fds and CPU per tick of rbee-hive serve with N workers.
add_executable(rbee-bench-hive-footprint ${CMAKE_CURRENT_SOURCE_DIR}/hive_footprint.cpp)
target_link_libraries(rbee-bench-hive-footprint PRIVATE rbee_test_harness)
target_compile_options(rbee-bench-hive-footprint PRIVATE -Wno-missing-field-initializers)
add_test(NAME bench:hive-footprint COMMAND rbee-bench-hive-footprint --workers 0,50
  --settle-ticks 1 --window-ticks 2)
set_tests_properties(bench:hive-footprint PROPERTIES LABELS bench TIMEOUT 60 SKIP_RETURN_CODE 77)
