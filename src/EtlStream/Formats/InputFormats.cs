using EtlStream.Formats.Csv;
using EtlStream.Tables;

namespace EtlStream.Formats;

/// <summary>
/// Every input format, found by kind (<c>format:</c> in a spec, <c>--format</c>) or recognised from an entry's
/// first bytes, as compression already is. The one place that lists them.
/// </summary>
public static class InputFormats
{
    /// <summary>How many leading bytes of an entry are looked at to recognise its format.</summary>
    public const int HeadBytes = 4096;

    /// <summary>The format of an entry no format recognises, and of every entry when the spec names none.</summary>
    public static InputFormat Default { get; } = CsvFormat.Instance;

    /// <summary>Every format; signatures do not overlap, and CSV, which recognises nothing, is what none claims.</summary>
    public static IReadOnlyList<InputFormat> All { get; } =
    [
        CsvFormat.Instance,
        Json.JsonFormat.Instance,
        Parquet.ParquetFormat.Instance,
        Arrow.ArrowFormat.Instance,
    ];

    /// <summary>The known kinds, for error messages: <c>csv, json, …</c>.</summary>
    public static string Kinds => string.Join(", ", All.Select(f => f.Kind));

    /// <summary>The format named <paramref name="kind"/> (ignoring case), or null.</summary>
    public static InputFormat? Find(string kind) =>
        All.FirstOrDefault(f => string.Equals(f.Kind, kind, StringComparison.OrdinalIgnoreCase));

    /// <summary>The format whose signature <paramref name="head"/> carries, else <see cref="Default"/>.</summary>
    public static InputFormat Recognize(ReadOnlySpan<byte> head)
    {
        foreach (var format in All)
        {
            if (format.Recognizes(head))
            {
                return format;
            }
        }

        return Default;
    }

    /// <summary>
    /// The format to read an entry with: the spec's <c>format:</c> when it names one, otherwise the one whose
    /// signature the entry's first bytes carry. A named format is not second-guessed (a <c>.txt</c> that happens
    /// to start with <c>[</c> is still CSV when the spec says so).
    /// </summary>
    public static async ValueTask<(InputFormat Format, Stream Input)> ChooseAsync(Stream entry, TableSpec spec, CancellationToken cancellationToken)
    {
        if (spec.Format is { } named)
        {
            return (Find(named) ?? throw new ConfigException([$"format: unknown format '{named}'; known: {Kinds}"]), entry);
        }

        var peekable = new Compression.PeekableReadStream(entry, HeadBytes);
        var head = await peekable.PeekAsync(HeadBytes, cancellationToken).ConfigureAwait(false);
        return (Recognize(head.Span), peekable);
    }
}
