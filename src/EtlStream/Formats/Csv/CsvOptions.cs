namespace EtlStream.Formats.Csv;

/// <summary>How a CSV file is read. Defaults follow RFC 4180 with a header row and empty fields as NULL.</summary>
public sealed record CsvOptions
{
    public byte Delimiter { get; init; } = (byte)',';

    public byte Quote { get; init; } = (byte)'"';

    public bool HasHeader { get; init; } = true;

    /// <summary>
    /// The text encoding when the file has no byte-order mark (a BOM always wins: it cannot be mistaken).
    /// Anything but UTF-8 is transcoded to UTF-8 as it streams.
    /// </summary>
    public CsvEncoding Encoding { get; init; } = CsvEncoding.Utf8;

    /// <summary>Unquoted field texts read as NULL. A quoted field is never NULL: <c>""</c> is an empty string.</summary>
    public IReadOnlyList<string> NullTokens { get; init; } = [""];

    /// <summary>Rows per Arrow record batch at most; fewer when <see cref="BatchBytes"/> comes first.</summary>
    public int BatchRows { get; init; } = 64 * 1024;

    /// <summary>
    /// Arrow bytes per batch at most (values, offsets, validity, line numbers): the parser closes a batch before a
    /// record would take it past this, and a wide file gets fewer rows. A single record larger than this is a batch of
    /// one row. Not read from a spec: the pipeline sets it from the memory budget (<c>MemoryPlan</c>).
    /// </summary>
    public long BatchBytes { get; init; } = 32 * 1024 * 1024;

    /// <summary>The longest record (all its fields, in bytes) the parser will buffer before failing the file.</summary>
    public int MaxRecordBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// The most fields a record may have. Every column holds a batch's buffers, which <see cref="BatchBytes"/> shrinks
    /// for wide files; past this a header of a million commas is refused as the memory bomb it is.
    /// </summary>
    public int MaxColumns { get; init; } = 2048;

    public static CsvOptions Default { get; } = new();

    /// <summary>
    /// A delimiter or quote as written on a command line or in a spec: one ASCII character, or <c>\t</c> / <c>tab</c>
    /// (a tab is awkward to type in a shell and invisible in YAML). Null, with the reason, when it is neither.
    /// </summary>
    public static byte? ParseCharacter(string text, out string? error)
    {
        error = null;
        if (text is "\\t" or "tab" or "TAB")
        {
            return (byte)'\t';
        }

        if (text.Length == 1 && text[0] < 0x80)
        {
            return (byte)text[0];
        }

        error = $"expected one ASCII character (or \\t / tab), got '{PrintableText.Escape(text)}'";
        return null;
    }

    /// <summary>Every problem with these options, each with the option's name; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Delimiter is (byte)'\r' or (byte)'\n' || Delimiter == Quote)
        {
            errors.Add("csv.delimiter: must not be a line break or the quote character");
        }

        if (Quote is (byte)'\r' or (byte)'\n')
        {
            errors.Add("csv.quote: must not be a line break");
        }

        if (BatchRows is < 1 or > 16 * 1024 * 1024)
        {
            errors.Add($"csv.batch_rows: must be 1..16777216, got {BatchRows}");
        }

        if (BatchBytes < 1024)
        {
            errors.Add($"csv.batch_bytes: must be at least 1024, got {BatchBytes}");
        }

        if (MaxColumns is < 1 or > 65536)
        {
            errors.Add($"csv.max_columns: must be 1..65536, got {MaxColumns}");
        }

        if (MaxRecordBytes < 1024)
        {
            errors.Add($"csv.max_record_bytes: must be at least 1024, got {MaxRecordBytes}");
        }

        return errors;
    }
}

/// <summary>
/// The encodings a CSV file may be declared in (<c>--encoding</c>, <c>csv.encoding</c>). ISO-8859-1 and Windows-1252
/// are both offered because files called "Latin-1" are usually Windows-1252 (€ and curly quotes in 0x80–0x9F, which
/// ISO-8859-1 reads as control characters).
/// </summary>
public enum CsvEncoding
{
    Utf8,
    Latin1,
    Windows1252,

    /// <summary>UTF-16 little-endian unless a byte-order mark says big-endian.</summary>
    Utf16,

    Utf16Be,
}

public static class CsvEncodingNames
{
    /// <summary>The names accepted, as listed in errors and help.</summary>
    public const string Accepted = "utf-8, latin1 (iso-8859-1), windows-1252 (cp1252), utf-16 (utf-16le), utf-16be";

    public static CsvEncoding? Parse(string name) => name.ToLowerInvariant() switch
    {
        "utf-8" or "utf8" => CsvEncoding.Utf8,
        "latin1" or "latin-1" or "iso-8859-1" or "iso8859-1" => CsvEncoding.Latin1,
        "windows-1252" or "cp1252" => CsvEncoding.Windows1252,
        "utf-16" or "utf16" or "utf-16le" or "utf16le" => CsvEncoding.Utf16,
        "utf-16be" or "utf16be" => CsvEncoding.Utf16Be,
        _ => null,
    };
}

/// <summary>How a delimiter is named in a hint: in words, and as the <c>--delimiter</c> value to type in a shell.</summary>
internal static class DelimiterNames
{
    public static string Plural(byte delimiter) => delimiter switch
    {
        (byte)'\t' => "tabs",
        (byte)';' => "semicolons",
        (byte)'|' => "pipes",
        (byte)',' => "commas",
        _ => $"'{(char)delimiter}' characters",
    };

    public static string Option(byte delimiter) => delimiter == (byte)'\t' ? "'\\t'" : $"'{(char)delimiter}'";
}
