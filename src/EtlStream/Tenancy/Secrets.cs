using System.Text.RegularExpressions;
using EtlStream.Security;

namespace EtlStream.Tenancy;

/// <summary>
/// Resolves <c>${NAME}</c> references from the environment, then the tenant's <c>.env</c>, and hands every value it
/// resolves to <see cref="Redaction"/>, which scrubs it from anything printed, logged or reported.
/// </summary>
internal sealed partial class Secrets
{
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

            Redaction.Remember(value);
            return value;
        });
        missing = notFound;
        return result;
    }

    /// <summary>Whether a text references a secret at all (such values are never shown, resolved or not).</summary>
    public static bool References(string text) => Reference().IsMatch(text);

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Reference();
}
