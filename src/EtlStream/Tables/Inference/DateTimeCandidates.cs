using EtlStream.Transforms;

namespace EtlStream.Tables.Inference;

/// <summary>
/// The date and timestamp patterns inference tries, each one a <c>format:</c> a spec accepts (compiled by the same
/// <see cref="DateTimePattern"/> the load parses with, so a value that matched here loads). A column is a date or
/// timestamp only when exactly one of them matches every sampled value: <c>01/02/2024</c> is January or February
/// depending on the pattern, so two patterns left is no answer.
/// </summary>
internal static class DateTimeCandidates
{
    /// <summary>The patterns in the order they are listed in notes; dates first.</summary>
    private static readonly (string Format, ColumnKind Kind)[] Formats =
    [
        ("yyyy-MM-dd", ColumnKind.Date),
        ("yyyy/MM/dd", ColumnKind.Date),
        ("dd-MM-yyyy", ColumnKind.Date),
        ("MM-dd-yyyy", ColumnKind.Date),
        ("dd/MM/yyyy", ColumnKind.Date),
        ("MM/dd/yyyy", ColumnKind.Date),
        ("dd.MM.yyyy", ColumnKind.Date),
        ("yyyy-MM-dd HH:mm:ss", ColumnKind.Timestamp),
        ("yyyy-MM-ddTHH:mm:ss", ColumnKind.Timestamp),
        ("yyyy-MM-dd HH:mm", ColumnKind.Timestamp),
        ("yyyy-MM-ddTHH:mm", ColumnKind.Timestamp),
        ("yyyy/MM/dd HH:mm:ss", ColumnKind.Timestamp),
        ("dd-MM-yyyy HH:mm:ss", ColumnKind.Timestamp),
        ("MM-dd-yyyy HH:mm:ss", ColumnKind.Timestamp),
        ("dd/MM/yyyy HH:mm:ss", ColumnKind.Timestamp),
        ("MM/dd/yyyy HH:mm:ss", ColumnKind.Timestamp),
        ("dd/MM/yyyy HH:mm", ColumnKind.Timestamp),
        ("MM/dd/yyyy HH:mm", ColumnKind.Timestamp),
        ("dd.MM.yyyy HH:mm:ss", ColumnKind.Timestamp),
    ];

    private static readonly DateTimePattern[] Patterns = Compile();

    /// <summary>Every pattern: the starting set of a column.</summary>
    public static uint All { get; } = (1u << Formats.Length) - 1;

    public static string FormatOf(int index) => Formats[index].Format;

    public static ColumnKind KindOf(int index) => Formats[index].Kind;

    /// <summary>The patterns of <paramref name="candidates"/> that <paramref name="text"/> (trimmed) matches.</summary>
    public static uint Matching(ReadOnlySpan<byte> text, uint candidates)
    {
        // Every pattern starts with a digit and is at least 10 characters long: most text is ruled out without a parse.
        if (text.Length < 10 || (uint)(text[0] - (byte)'0') > 9)
        {
            return 0;
        }

        var left = candidates;
        for (var rest = candidates; rest != 0; rest &= rest - 1)
        {
            var i = System.Numerics.BitOperations.TrailingZeroCount(rest);
            if (!Patterns[i].TryParse(text, out _, out _))
            {
                left &= ~(1u << i);
            }
        }

        return left;
    }

    /// <summary>The patterns of a set, for a note: <c>dd/MM/yyyy or MM/dd/yyyy</c>.</summary>
    public static string Describe(uint set)
    {
        var names = new List<string>();
        for (var rest = set; rest != 0; rest &= rest - 1)
        {
            names.Add(Formats[System.Numerics.BitOperations.TrailingZeroCount(rest)].Format);
        }

        return string.Join(" or ", names);
    }

    private static DateTimePattern[] Compile()
    {
        var patterns = new DateTimePattern[Formats.Length];
        for (var i = 0; i < patterns.Length; i++)
        {
            patterns[i] = DateTimePattern.TryCompile(Formats[i].Format, out var error)
                ?? throw new InvalidOperationException($"inference pattern '{Formats[i].Format}': {error}");
        }

        return patterns;
    }
}
