using System.Text;

namespace EtlStream.Formats.Csv;

/// <summary>
/// Text from a data file made safe to quote in an error, a warning or a log line: control characters (NUL, ESC,
/// line breaks, C1 controls) and bidirectional overrides become <c>\u0000</c>-style escapes, so a hostile file
/// cannot write raw bytes to a terminal, forge log lines, or reorder what a reader sees.
/// </summary>
public static class PrintableText
{
    /// <summary><paramref name="text"/> with every control character escaped; the same instance when there is none.</summary>
    public static string Escape(string text) => Escape(text, keepLineBreaks: false);

    /// <summary>
    /// As <see cref="Escape(string)"/>, but keeping line feeds and tabs: for whole messages printed at the CLI, whose
    /// data parts were escaped where they were quoted and whose own layout may span lines.
    /// </summary>
    public static string EscapeMessage(string text) => Escape(text, keepLineBreaks: true);

    private static string Escape(string text, bool keepLineBreaks)
    {
        var i = 0;
        while (i < text.Length && !MustEscape(text[i], keepLineBreaks))
        {
            i++;
        }

        if (i == text.Length)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 16);
        sb.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (MustEscape(c, keepLineBreaks))
            {
                sb.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static bool MustEscape(char c, bool keepLineBreaks) =>
        (char.IsControl(c) && !(keepLineBreaks && c is '\n' or '\t'))
        || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069';
}
