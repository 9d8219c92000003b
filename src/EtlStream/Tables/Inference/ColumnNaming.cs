using System.Text;
using EtlStream.Formats.Csv;

namespace EtlStream.Tables.Inference;

/// <summary>
/// The column names an inferred spec gives a source's fields: lower snake case (<c>Cost Total $</c> →
/// <c>cost_total</c>, <c>customerId</c> → <c>customer_id</c>), unique ignoring case (a repeat gets <c>_2</c>,
/// <c>_3</c>…), starting with a letter or <c>_</c>, at most 63 characters (PostgreSQL's limit, the shortest of the
/// sinks). Each also gets the source name the load binds it by (the header made unique as the load makes it,
/// <see cref="CsvHeader"/>), written as <c>source:</c> where it differs from the name.
/// </summary>
internal static class ColumnNaming
{
    private const int MaxLength = 63;

    /// <summary>(name, source) for each field of <paramref name="header"/>; source is null where the name is the header itself.</summary>
    /// <param name="nestedPaths">The header holds paths (<c>dealer.code</c> from JSON): a dot becomes <c>__</c>, the flattening convention.</param>
    public static IReadOnlyList<(string Name, string? Source)> For(IReadOnlyList<string> header, bool nestedPaths)
    {
        var resolved = CsvHeader.Resolve(header);
        var taken = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var result = new (string, string?)[header.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var stem = Snake(resolved.Raw[i], nestedPaths);
            if (stem.Length == 0)
            {
                stem = $"column{i + 1}";
            }
            else if (char.IsAsciiDigit(stem[0]))
            {
                stem = "c_" + stem;
            }

            if (stem.Length > MaxLength)
            {
                stem = stem[..MaxLength].TrimEnd('_');
            }

            var name = stem;
            for (var n = 2; !taken.Add(name); n++)
            {
                var suffix = $"_{n}";
                name = (stem.Length + suffix.Length > MaxLength ? stem[..(MaxLength - suffix.Length)] : stem) + suffix;
            }

            var source = resolved.Names[i];
            result[i] = (name, string.Equals(name, source, StringComparison.Ordinal) ? null : source);
        }

        return result;
    }

    /// <summary>Lower snake case: a run of anything but letters and digits is one <c>_</c>; a lower-to-upper step starts a word.</summary>
    internal static string Snake(string text, bool nestedPaths)
    {
        var sb = new StringBuilder(text.Length + 4);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsLetterOrDigit(c))
            {
                // customerId → customer_id, HTTPServer → http_server: a word starts at an upper after a lower or digit,
                // or at the last upper of a run followed by a lower.
                if (char.IsUpper(c) && sb.Length > 0 && sb[^1] != '_' && i > 0
                    && (char.IsLower(text[i - 1]) || char.IsDigit(text[i - 1]) || (char.IsUpper(text[i - 1]) && i + 1 < text.Length && char.IsLower(text[i + 1]))))
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else if (nestedPaths && c == '.' && sb.Length > 0)
            {
                TrimUnderscores(sb);
                sb.Append("__");
            }
            else if (sb.Length > 0 && sb[^1] != '_')
            {
                sb.Append('_');
            }
        }

        TrimUnderscores(sb);
        return sb.ToString();
    }

    private static void TrimUnderscores(StringBuilder sb)
    {
        while (sb.Length > 0 && sb[^1] == '_')
        {
            sb.Length--;
        }
    }
}
