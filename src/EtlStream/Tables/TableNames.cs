using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace EtlStream.Tables;

/// <summary>The table an ad-hoc load names after its first file, when neither a spec nor the command names one.</summary>
public static partial class TableNames
{
    /// <summary>PostgreSQL's identifier limit, the shortest of the databases loaded into.</summary>
    private const int MaxLength = 63;

    /// <summary>
    /// <c>zipcodes_2026-12-01.csv.gz</c> → <c>zipcodes</c>, <c>LA-Riots.csv</c> → <c>la_riots</c>: the name up to its
    /// first dot, lower snake case (a run of anything but letters and digits is one <c>_</c>), without a trailing date
    /// (<c>_2026-12-01</c>, <c>-20261201</c>), since daily files of one table differ only there and must load into one
    /// table. A name left empty keeps its date; one starting with a digit gets <c>t_</c>, so it needs no quoting.
    /// </summary>
    public static string FromFileName(string file)
    {
        var stem = Path.GetFileName(file);
        var dot = stem.IndexOf('.', StringComparison.Ordinal);
        var snake = Snake(dot > 0 ? stem[..dot] : stem);
        var dated = DateSuffix().Match(snake);
        if (dated.Success && dated.Index > 0 && IsDate(dated.Groups["date"].Value))
        {
            snake = snake[..dated.Index];
        }

        if (snake.Length == 0)
        {
            snake = "data";
        }
        else if (char.IsAsciiDigit(snake[0]))
        {
            snake = "t_" + snake;
        }

        return snake.Length > MaxLength ? snake[..MaxLength].TrimEnd('_') : snake;
    }

    private static string Snake(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                sb.Append(char.ToLowerInvariant(c));
            }
            else if (sb.Length > 0 && sb[^1] != '_')
            {
                sb.Append('_');
            }
        }

        return sb.ToString().TrimEnd('_');
    }

    private static bool IsDate(string digits) =>
        DateOnly.TryParseExact(digits.Replace("_", "", StringComparison.Ordinal), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    [GeneratedRegex(@"_(?<date>\d{4}_\d{2}_\d{2}|\d{8})$", RegexOptions.CultureInvariant)]
    private static partial Regex DateSuffix();
}
