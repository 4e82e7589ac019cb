# One warnings function for every target the project compiles itself (library, tools, tests,
# examples, benchmarks). Third-party headers come from system or imported include directories,
# which compilers treat as SYSTEM, so PROMPTETHEUS_WERROR applies to our code only.
function(promptetheus_target_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra)
    if(PROMPTETHEUS_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4)
    if(PROMPTETHEUS_WERROR)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  endif()
endfunction()
