using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace EtlStream.State;

/// <summary>The run date a file belongs to, read from its name through the table's pattern (<c>invoices_{date}.csv.gz</c>).</summary>
internal static class FileDates
{
    public const string Placeholder = "{date}";

    /// <summary>The pattern with <paramref name="date"/> in place of <c>{date}</c>.</summary>
    public static string For(string pattern, DateOnly date) =>
        pattern.Replace(Placeholder, date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>The <c>{date}</c> part of <paramref name="fileName"/>, or null when the name does not match the pattern.</summary>
    public static DateOnly? Parse(string pattern, string fileName)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(fileName);
        var regex = new StringBuilder("^");
        foreach (var part in Path.GetFileName(pattern).Split(Placeholder))
        {
            if (regex.Length > 1)
            {
                regex.Append(@"(?<date>\d{4}-\d{2}-\d{2})");
            }

            regex.Append(Regex.Escape(part).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal));
        }

        var match = Regex.Match(Path.GetFileName(fileName), regex.Append('$').ToString(), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return match.Success && DateOnly.TryParseExact(match.Groups["date"].Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : null;
    }

    /// <summary>Every date from <paramref name="from"/> to <paramref name="to"/>, both included.</summary>
    public static IEnumerable<DateOnly> Range(DateOnly from, DateOnly to)
    {
        for (var d = from; d <= to; d = d.AddDays(1))
        {
            yield return d;
        }
    }
}
