using EtlStream.Transforms;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// Reads the error log an <c>ErrorURL</c> serves: one filtered row per line, <c>Error: &lt;reason&gt;. Row: &lt;raw row&gt;</c>
/// (StarRocks' shape; a line without <c>Row:</c> keeps its whole text as the reason).
/// </summary>
internal static class StreamLoadErrorLog
{
    /// <summary>The reject rule of rows the database filtered during the load (its own reason is kept in the reject).</summary>
    public const string Rule = "server_filtered";

    public static IReadOnlyList<RejectedRow> Parse(string text, string sourceFile)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rows = new List<RejectedRow>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            var reason = line.StartsWith("Error: ", StringComparison.Ordinal) ? line[7..] : line;
            var row = string.Empty;
            var at = reason.LastIndexOf(". Row: ", StringComparison.Ordinal);
            if (at >= 0)
            {
                row = reason[(at + 7)..];
                reason = reason[..at];
            }

            rows.Add(new RejectedRow(sourceFile, 0, 0, string.Empty, Rule, string.Empty, reason, row));
        }

        return rows;
    }
}
