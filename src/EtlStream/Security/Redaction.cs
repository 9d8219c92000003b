using System.Text.RegularExpressions;

namespace EtlStream.Security;

/// <summary>
/// What keeps secrets out of everything printed, logged or reported: the values handed out or read in this process
/// (<see cref="Protect"/>), and, known or not, SAS signatures and URL passwords. A home of its own, because sources,
/// sinks, the tenancy and the CLI all redact and none of them should depend on another for it.
/// </summary>
public static partial class Redaction
{
    private static readonly HashSet<string> Known = [];
    private static readonly Lock Gate = new();

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
    /// Registers a secret (a credential read from the environment or a setting), in its URL-encoded and decoded forms
    /// too, so <see cref="Redact"/> scrubs it wherever an SDK echoes it.
    /// </summary>
    public static void Protect(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
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

    /// <summary>Registers a value exactly as handed out (a resolved <c>${NAME}</c>).</summary>
    internal static void Remember(string value)
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

    [GeneratedRegex(@"(?<name>(?:^|[?&\s;])sig=)[^&\s""';]+", RegexOptions.IgnoreCase)]
    private static partial Regex SasSignature();

    // The userinfo of a URL ends at the last '@' before the path; a password may itself hold '@' or ':'.
    [GeneratedRegex(@"(?<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^/\s]*@", RegexOptions.CultureInvariant)]
    private static partial Regex UrlPassword();
}
