/*
 * A stand-in for the parts of Elasticsearch's `analysis-common` module that Cinema's catalog
 * index uses. scripts/backends.sh runs the `integ-test-zip` distribution (the only Elasticsearch
 * 8 build on Maven Central), which ships without analysis-common; this plugin, compiled against
 * that distribution's own jars, registers the same names over the same Lucene classes:
 *
 *   char_filter  mapping        ("mappings": ["a => b", ...])            usable in normalizers
 *   filter       asciifolding   ("preserve_original": bool)              usable in normalizers
 *   filter       stemmer        ("language": english | light_english | minimal_english |
 *                                 porter2 | russian | light_russian | <Snowball stemmer name>)
 *
 * The real Elasticsearch image used by docker-compose.yml has the full module; keep index
 * settings within the names above (or extend this file) so both servers accept them.
 */
package cinema.esanalysis;

import java.io.Reader;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.charfilter.MappingCharFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.ru.RussianLightStemFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.AbstractCharFilterFactory;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingCharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;
import org.tartarus.snowball.SnowballStemmer;

public class CinemaAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "asciifolding", (indexSettings, env, name, settings) -> new AsciiFolding(name, settings),
            "stemmer", (indexSettings, env, name, settings) -> new Stemmer(name, settings)
        );
    }

    @Override
    public Map<String, AnalysisProvider<CharFilterFactory>> getCharFilters() {
        return Map.of(
            "mapping",
            AnalysisPlugin.requiresAnalysisSettings((indexSettings, env, name, settings) -> new Mapping(name, settings))
        );
    }

    static final class AsciiFolding extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
        private final boolean preserveOriginal;

        AsciiFolding(String name, Settings settings) {
            super(name, settings);
            preserveOriginal = settings.getAsBoolean("preserve_original", false);
        }

        @Override
        public TokenStream create(TokenStream input) {
            return new ASCIIFoldingFilter(input, preserveOriginal);
        }
    }

    static final class Stemmer extends AbstractTokenFilterFactory {
        private final String language;

        Stemmer(String name, Settings settings) {
            super(name, settings);
            language = settings.get("language", settings.get("name", "porter")).toLowerCase(Locale.ROOT);
            switch (language) { // fail at index creation, not at first use, on an unknown language
                case "english", "porter", "light_english", "minimal_english", "possessive_english",
                    "porter2", "russian", "light_russian" -> { }
                default -> snowball(Character.toUpperCase(language.charAt(0)) + language.substring(1));
            }
        }

        @Override
        public TokenStream create(TokenStream input) {
            switch (language) {
                case "english":
                case "porter":
                    return new PorterStemFilter(input);
                case "light_english":
                case "minimal_english":
                    return new EnglishMinimalStemFilter(input);
                case "possessive_english":
                    return new EnglishPossessiveFilter(input);
                case "porter2":
                    return new SnowballFilter(input, snowball("English"));
                case "russian":
                    return new SnowballFilter(input, snowball("Russian"));
                case "light_russian":
                    return new RussianLightStemFilter(input);
                default:
                    return new SnowballFilter(input, snowball(Character.toUpperCase(language.charAt(0)) + language.substring(1)));
            }
        }

        private SnowballStemmer snowball(String stemmer) {
            try {
                return (SnowballStemmer) Class.forName("org.tartarus.snowball.ext." + stemmer + "Stemmer")
                    .getConstructor()
                    .newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IllegalArgumentException("stemmer language [" + language + "] is not supported here", e);
            }
        }
    }

    static final class Mapping extends AbstractCharFilterFactory implements NormalizingCharFilterFactory {
        private final NormalizeCharMap map;

        Mapping(String name, Settings settings) {
            super(name);
            List<String> rules = settings.getAsList("mappings");
            if (rules.isEmpty()) {
                throw new IllegalArgumentException("mapping requires [mappings] to be configured");
            }
            NormalizeCharMap.Builder builder = new NormalizeCharMap.Builder();
            for (String rule : rules) {
                int arrow = rule.indexOf("=>");
                if (arrow < 0) {
                    throw new IllegalArgumentException("invalid mapping rule: [" + rule + "]");
                }
                builder.add(unescape(rule.substring(0, arrow).trim()), unescape(rule.substring(arrow + 2).trim()));
            }
            map = builder.build();
        }

        @Override
        public Reader create(Reader reader) {
            return new MappingCharFilter(map, reader);
        }

        private static String unescape(String s) {
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\\' && i + 1 < s.length()) {
                    char n = s.charAt(++i);
                    switch (n) {
                        case 'n': out.append('\n'); break;
                        case 't': out.append('\t'); break;
                        case 'r': out.append('\r'); break;
                        case 'u':
                            out.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                            i += 4;
                            break;
                        default: out.append(n);
                    }
                } else {
                    out.append(c);
                }
            }
            return out.toString();
        }
    }
}
