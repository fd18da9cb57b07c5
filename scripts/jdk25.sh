# Sourced by ./mvn25 and ./dmactl: finds a JDK 25 or newer and exports JAVA_HOME.
# Order: $JAVA_HOME if it is 25+, then the usual JDK folders, newest first.
# Prints one line saying what to install and returns 1 when there is none.

dma4j_jdk_major() { # $1 = JDK home; prints its feature version or nothing
  local rel="$1/release" v
  [ -x "$1/bin/java" ] || return 0
  if [ -f "$rel" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\{0,1\}\([0-9][0-9]*\).*/\1/p' "$rel" | head -n 1)
  else
    v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9][0-9]*\).*/\1/p')
  fi
  [ -n "$v" ] && echo "$v"
}

dma4j_find_jdk25() {
  local cand best="" best_v=0 v
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(dma4j_jdk_major "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then export JAVA_HOME; return 0; fi
  fi
  for cand in /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* \
              "$HOME"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$cand" ] || continue
    v=$(dma4j_jdk_major "$cand")
    if [ -n "$v" ] && [ "$v" -ge 25 ] && [ "$v" -gt "$best_v" ]; then best="$cand"; best_v="$v"; fi
  done
  if [ -z "$best" ]; then
    echo "dma4j: no JDK 25 or newer found (JAVA_HOME=${JAVA_HOME:-unset}, searched /usr/lib/jvm, /opt/java, ~/.sdkman, ~/.jdks): install one, e.g. 'apt-get install temurin-25-jdk', or set JAVA_HOME to it." >&2
    return 1
  fi
  JAVA_HOME=$(cd "$best" && pwd -P)
  export JAVA_HOME
}
