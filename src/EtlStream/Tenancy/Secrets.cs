using System.Text.RegularExpressions;

namespace EtlStream.Tenancy;

/// <summary>
/// Resolves <c>${NAME}</c> references from the environment, then the tenant's <c>.env</c>, and remembers every
/// value it hands out so that <see cref="Redact"/> can scrub it from anything printed, logged or reported.
/// </summary>
public sealed partial class Secrets
{
    private static readonly HashSet<string> Known = [];
    private static readonly Lock Gate = new();
    private readonly Dictionary<string, string> _dotEnv;

    private Secrets(Dictionary<string, string> dotEnv) => _dotEnv = dotEnv;

    /// <summary>Secrets for a tenant folder: its <c>.env</c> (optional), under the process environment.</summary>
    public static Secrets ForFolder(string folder)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var file = Path.Combine(folder, ".env");
        if (File.Exists(file))
        {
            foreach (var raw in File.ReadAllLines(file))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#') || !line.Contains('=', StringComparison.Ordinal))
                {
                    continue;
                }

                var eq = line.IndexOf('=', StringComparison.Ordinal);
                var value = line[(eq + 1)..].Trim();
                if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
                {
                    value = value[1..^1];
                }

                values[line[..eq].Trim()] = value;
            }
        }

        return new Secrets(values);
    }

    /// <summary>Replaces every <c>${NAME}</c> in <paramref name="text"/>; the names it cannot resolve are returned, never values.</summary>
    public string Resolve(string text, out IReadOnlyList<string> missing)
    {
        var notFound = new List<string>();
        var result = Reference().Replace(text, m =>
        {
            var name = m.Groups[1].Value;
            var value = Environment.GetEnvironmentVariable(name) ?? (_dotEnv.TryGetValue(name, out var v) ? v : null);
            if (value is null)
            {
                notFound.Add(name);
                return m.Value;
            }

            Remember(value);
            return value;
        });
        missing = notFound;
        return result;
    }

    /// <summary>Whether a text references a secret at all (such values are never shown, resolved or not).</summary>
    public static bool References(string text) => Reference().IsMatch(text);

    /// <summary>
    /// Scrubs every secret value handed out or read in this process from <paramref name="text"/>, whatever echoed
    /// it (an SDK, a server's error body, a proxy), and, known or not, the signature of any SAS URL or token in it
    /// (<c>sig=…</c>) and the password of any <c>scheme://user:password@host</c> URL.
    /// </summary>
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        lock (Gate)
        {
            // Longest first: a secret that contains another must go whole, not leave its remainder.
            foreach (var secret in Known.OrderByDescending(s => s.Length))
            {
                text = text.Replace(secret, "***", StringComparison.Ordinal);
            }
        }

        text = UrlPassword().Replace(text, "${head}***@");
        return SasSignature().Replace(text, "${name}***");
    }

    /// <summary>
    /// Registers a secret that did not come through <c>${NAME}</c> (a CLI credential read from the environment), in
    /// its URL-encoded and decoded forms too, so <see cref="Redact"/> scrubs it wherever an SDK echoes it.
    /// </summary>
    public static void Protect(string value)
    {
        Remember(value);
        Remember(Uri.EscapeDataString(value));
        try
        {
            Remember(Uri.UnescapeDataString(value));
        }
        catch (UriFormatException)
        {
            // not URL-encoded text
        }
    }

    private static void Remember(string value)
    {
        // Very short values would redact ordinary text; they are not secrets worth the name anyway.
        if (value.Length < 4)
        {
            return;
        }

        lock (Gate)
        {
            Known.Add(value);
        }
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Reference();

    [GeneratedRegex(@"(?<name>(?:^|[?&\s;])sig=)[^&\s""';]+", RegexOptions.IgnoreCase)]
    private static partial Regex SasSignature();

    // The userinfo of a URL ends at the last '@' before the path; a password may itself hold '@' or ':'.
    [GeneratedRegex(@"(?<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^/\s]*@", RegexOptions.CultureInvariant)]
    private static partial Regex UrlPassword();
}
