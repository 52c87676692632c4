package dnsflow.testanalysis;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * The analysis components the security system index asks for ("pattern_capture" and
 * "unique" filters, "uax_url_email" tokenizer). The integ-test distribution of
 * Elasticsearch leaves out the analysis-common module that normally provides them, so
 * without this plugin the .security index cannot be created and API keys cannot be
 * issued. Test nodes only; built and installed by scripts/services.sh.
 */
public class TestAnalysisPlugin extends Plugin implements AnalysisPlugin {
  @Override
  public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
    return Map.of(
        "pattern_capture", (indexSettings, env, name, settings) -> {
          List<String> regexes = settings.getAsList("patterns");
          Pattern[] patterns = regexes.stream().map(Pattern::compile).toArray(Pattern[]::new);
          boolean preserveOriginal = settings.getAsBoolean("preserve_original", true);
          return filter(name, in -> new PatternCaptureGroupTokenFilter(in, preserveOriginal, patterns));
        },
        "unique", (indexSettings, env, name, settings) -> filter(name, UniqueFilter::new));
  }

  @Override
  public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
    return Map.of(
        "uax_url_email",
        (indexSettings, env, name, settings) ->
            TokenizerFactory.newFactory(name, UAX29URLEmailTokenizer::new));
  }

  private static TokenFilterFactory filter(
      String name, java.util.function.Function<TokenStream, TokenStream> make) {
    return new TokenFilterFactory() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public TokenStream create(TokenStream in) {
        return make.apply(in);
      }
    };
  }

  /** Drops a term already seen earlier in the same stream. */
  private static final class UniqueFilter extends TokenFilter {
    private final CharTermAttribute term = addAttribute(CharTermAttribute.class);
    private final CharArraySet seen = new CharArraySet(8, false);

    UniqueFilter(TokenStream in) {
      super(in);
    }

    @Override
    public boolean incrementToken() throws IOException {
      while (input.incrementToken()) {
        char[] copy = new char[term.length()];
        System.arraycopy(term.buffer(), 0, copy, 0, copy.length);
        if (seen.add(copy)) {
          return true;
        }
      }
      return false;
    }

    @Override
    public void reset() throws IOException {
      super.reset();
      seen.clear();
    }
  }
}
