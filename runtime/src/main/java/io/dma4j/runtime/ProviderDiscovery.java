package io.dma4j.runtime;

import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaSpi;

import java.io.IOException;
import java.lang.module.Configuration;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.jar.JarFile;

/**
 * Finds {@link DmaProvider}s: those visible to the runtime (module path and class path)
 * and those in a directory of extra jars. When the runtime runs as a named module the
 * extra jars are resolved as modules in a {@link ModuleLayer} of their own, on top of the
 * runtime's layer (a jar without a module descriptor becomes an automatic module); on the
 * class path they are loaded by a child {@link URLClassLoader} through
 * {@code META-INF/services}.
 *
 * <p>Thread safety: stateless.
 */
public final class ProviderDiscovery {
    private ProviderDiscovery() {
    }

    /**
     * Discovers providers.
     *
     * @param extraJars a directory of provider jars, or {@code null}
     * @return the providers, runtime-visible ones first, each name once
     * @throws DmaConfigurationException when a jar cannot be loaded, the directory is
     *                                    unreadable, or two providers share a name
     */
    public static List<DiscoveredProvider> discover(Path extraJars) {
        List<DiscoveredProvider> out = new ArrayList<>();
        ServiceLoader<DmaProvider> visible = ServiceLoader.load(DmaProvider.class, ProviderDiscovery.class.getClassLoader());
        load(visible, out, null, null);
        if (extraJars != null) {
            List<Path> jars = jarsIn(extraJars);
            if (!jars.isEmpty()) {
                if (DmaProvider.class.getModule().isNamed()) {
                    loadAsLayer(jars, extraJars, out);
                } else {
                    loadOnClassPath(jars, extraJars, out);
                }
            }
        }
        return out;
    }

    /**
     * Adds a provider to a list, refusing a second provider of the same name.
     *
     * @throws DmaConfigurationException naming both sources
     */
    static void add(List<DiscoveredProvider> out, DiscoveredProvider p) {
        checkSpi(p);
        for (DiscoveredProvider q : out) {
            if (q.name().equals(p.name())) {
                throw new DmaConfigurationException("two providers are named '" + p.name() + "': " + q.provider().getClass().getName()
                        + " (" + q.origin() + ", " + q.location() + ") and " + p.provider().getClass().getName() + " (" + p.origin() + ", " + p.location() + ")");
            }
        }
        out.add(p);
    }

    /**
     * Refuses a provider built against an incompatible SPI, in one line naming the jar, its
     * SPI version and ours.
     */
    static void checkSpi(DiscoveredProvider p) {
        String theirs;
        try {
            theirs = p.provider().spiVersion();
        } catch (AbstractMethodError e) {
            theirs = "1.x"; // built before DmaProvider.spiVersion() existed
        }
        if (!DmaSpi.compatible(theirs)) {
            throw new DmaConfigurationException("provider " + p.provider().getClass().getName() + " (" + p.origin() + ", " + p.location()
                    + ") was built against dma4j SPI " + theirs + "; this runtime has SPI " + DmaSpi.VERSION
                    + " (a provider must have the same major version and no newer minor version): rebuild it against dma4j-spi " + DmaSpi.VERSION);
        }
    }

    private static List<Path> jarsIn(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new DmaConfigurationException("extra provider directory " + dir + " does not exist or is not a directory");
        }
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jar")) {
            for (Path p : ds) {
                try (JarFile jf = new JarFile(p.toFile())) {
                    jf.getManifest(); // reads the central directory: a broken file fails here, by name
                } catch (IOException e) {
                    throw new DmaConfigurationException("extra provider jar " + p + " is not a readable jar: " + e.getMessage(), e);
                }
                jars.add(p);
            }
        } catch (IOException e) {
            throw new DmaConfigurationException("cannot list extra provider directory " + dir + ": " + e.getMessage(), e);
        }
        jars.sort(null);
        return jars;
    }

    private static void loadAsLayer(List<Path> jars, Path dir, List<DiscoveredProvider> out) {
        ModuleLayer parent = DmaProvider.class.getModule().getLayer();
        ModuleFinder finder = ModuleFinder.of(jars.toArray(Path[]::new));
        Set<String> roots = new HashSet<>();
        try {
            for (ModuleReference ref : finder.findAll()) {
                if (parent.findModule(ref.descriptor().name()).isEmpty()) {
                    roots.add(ref.descriptor().name());
                }
            }
            Configuration cf = parent.configuration().resolveAndBind(finder, ModuleFinder.of(), roots);
            ModuleLayer layer = parent.defineModulesWithOneLoader(cf, ProviderDiscovery.class.getClassLoader());
            load(ServiceLoader.load(layer, DmaProvider.class), out, layer, null);
        } catch (RuntimeException e) { // FindException, ResolutionException, LayerInstantiationException
            throw new DmaConfigurationException("cannot load the provider jars in " + dir + " as modules: " + e.getMessage(), e);
        }
    }

    private static void loadOnClassPath(List<Path> jars, Path dir, List<DiscoveredProvider> out) {
        refuseDuplicates(jars);
        URL[] urls = new URL[jars.size()];
        try {
            for (int i = 0; i < urls.length; i++) {
                urls[i] = jars.get(i).toUri().toURL();
            }
        } catch (MalformedURLException e) {
            throw new DmaConfigurationException("bad jar path in " + dir + ": " + e.getMessage(), e);
        }
        // the loader lives as long as the providers it loaded: it is never closed
        URLClassLoader loader = new URLClassLoader("dma4j-extra-providers", urls, ProviderDiscovery.class.getClassLoader());
        load(ServiceLoader.load(DmaProvider.class, loader), out, null, loader);
    }

    /**
     * Two jars declaring one provider class (two copies, or two versions, of one jar) would be
     * resolved silently on the class path, the first one winning: refuse them, naming both.
     * (On the module path the JDK refuses two versions of one module itself.)
     */
    private static void refuseDuplicates(List<Path> jars) {
        java.util.Map<String, Path> declaredBy = new java.util.HashMap<>();
        for (Path jar : jars) {
            try (java.util.jar.JarFile jf = new java.util.jar.JarFile(jar.toFile())) {
                var entry = jf.getJarEntry("META-INF/services/" + DmaProvider.class.getName());
                if (entry == null) {
                    continue;
                }
                String text = new String(jf.getInputStream(entry).readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                for (String line : text.split("\\R")) {
                    String cls = line.replaceAll("#.*", "").trim();
                    if (cls.isEmpty()) {
                        continue;
                    }
                    Path first = declaredBy.putIfAbsent(cls, jar);
                    if (first != null) {
                        throw new DmaConfigurationException("provider " + cls + " is declared by two jars: " + first + " and " + jar
                                + " (two copies or versions of one jar in the providers directory): keep one");
                    }
                }
            } catch (IOException e) {
                throw new DmaConfigurationException("extra provider jar " + jar + " is not a readable jar: " + e.getMessage(), e);
            }
        }
    }

    private static void load(ServiceLoader<DmaProvider> sl, List<DiscoveredProvider> out, ModuleLayer onlyLayer, ClassLoader onlyLoader) {
        try {
            for (ServiceLoader.Provider<DmaProvider> sp : sl.stream().toList()) {
                Class<? extends DmaProvider> type = sp.type();
                Module m = type.getModule();
                if (onlyLayer != null && m.getLayer() != onlyLayer) {
                    continue;
                }
                if (onlyLoader != null && type.getClassLoader() != onlyLoader) {
                    continue;
                }
                String origin = onlyLayer != null || onlyLoader != null ? "extra jar" : m.isNamed() ? "module path" : "class path";
                add(out, new DiscoveredProvider(sp.get(), origin, location(type)));
            }
        } catch (ServiceConfigurationError e) {
            throw new DmaConfigurationException("a provider failed to load: " + e.getMessage(), e);
        }
    }

    private static String location(Class<?> type) {
        CodeSource cs = type.getProtectionDomain().getCodeSource();
        String where = cs == null || cs.getLocation() == null ? "?" : cs.getLocation().getPath();
        int slash = where.lastIndexOf('/', where.length() - 2);
        String file = slash >= 0 ? where.substring(slash + 1) : where;
        return type.getModule().isNamed() ? type.getModule().getName() + " (" + file + ")" : file;
    }
}
