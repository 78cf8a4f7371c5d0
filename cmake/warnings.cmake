# Warnings for every target of ours; AUTHFCGI_WERROR turns them into errors.
function(authfcgi_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
    -Wnon-virtual-dtor -Woverloaded-virtual -Wsuggest-override -Wimplicit-fallthrough
    -Wformat=2
    $<$<BOOL:${AUTHFCGI_WERROR}>:-Werror>
    $<$<CONFIG:Debug>:-D_GLIBCXX_ASSERTIONS>)
endfunction()

# Sanitizers for test builds (AUTHFCGI_SANITIZE=address,undefined).
function(authfcgi_target_sanitizers target)
  if(AUTHFCGI_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${AUTHFCGI_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${AUTHFCGI_SANITIZE})
  endif()
endfunction()
