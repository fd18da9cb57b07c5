#!/usr/bin/env bash
# Installs dma4j to the local Maven repository, then builds and runs a small application
# against the installed BOM and dma4j-all, on the class path and on the module path, and
# fails if it prints any warning or does not map a page; then builds the example vendor
# provider on its own against the installed artifacts. Usage: scripts/try-installed.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$here/scripts/jdk25.sh"
dma4j_find_jdk25 || exit 1
"$here/mvn25" -B -q -f "$here/pom.xml" install -DskipTests
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
mkdir -p "$app/src/main/java/app"
cat > "$app/pom.xml" <<'POM'
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>app</groupId><artifactId>app</artifactId><version>1</version>
  <properties><maven.compiler.release>25</maven.compiler.release><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>io.dma4j</groupId><artifactId>dma4j-bom</artifactId><version>0.1.0-SNAPSHOT</version><type>pom</type><scope>import</scope></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>io.dma4j</groupId><artifactId>dma4j-all</artifactId><type>pom</type></dependency>
  </dependencies>
  <build><plugins>
    <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.15.0</version></plugin>
    <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
    <plugin><artifactId>maven-dependency-plugin</artifactId><version>3.9.0</version></plugin>
  </plugins></build>
</project>
POM
cat > "$app/src/main/java/module-info.java" <<'JAVA'
module app {
    requires io.dma4j.runtime;
}
JAVA
cat > "$app/src/main/java/app/Main.java" <<'JAVA'
package app;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.runtime.DmaRuntime;

public class Main {
    public static void main(String[] args) {
        try (DmaRuntime rt = DmaRuntime.builder().build()) {
            DmaMapper m = rt.mapper("dmatest1");
            long page = rt.machine().pageAllocator().allocPages(0);
            long dma = m.mapPhys(page, 4096, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
            m.unmapPhys(dma, 4096, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
            System.out.println("mapped one page at 0x" + Long.toHexString(dma) + " through " + rt.backendFor("dmatest1").name());
        }
    }
}
JAVA
"$here/mvn25" -B -q -f "$app/pom.xml" package dependency:build-classpath -Dmdep.outputFile=cp.txt
cp="$(tr : "\n" < "$app/cp.txt" | grep -v "\.pom$" | paste -sd:)" # dma4j-all is a pom: not a jar for the path
for mode in class-path module-path; do
    if [ $mode = class-path ]; then
        out=$("$JAVA_HOME/bin/java" -cp "$app/target/classes:$cp" app.Main 2>&1) || true
    else
        out=$("$JAVA_HOME/bin/java" -p "$app/target/classes:$cp" -m app/app.Main 2>&1) || true
    fi
    echo "$mode: $out"
    if ! grep -q "^mapped one page" <<<"$out" || grep -qi "warn" <<<"$out"; then
        echo "try-installed: the $mode run failed or printed a warning" >&2
        exit 1
    fi
done
# the example vendor provider on its own, outside the reactor: dma4j-spi and the conformance kit
# come from the installed artifacts, and its tests run the kit against it
"$here/mvn25" -B -q -f "$here/examples/fixed-window/pom.xml" verify
echo "example provider: built and passed the conformance kit against the installed artifacts"
echo "try-installed: ok"
