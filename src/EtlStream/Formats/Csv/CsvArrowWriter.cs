using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;
using Apache.Arrow;
using EtlStream.Tables;

namespace EtlStream.Formats.Csv;

/// <summary>
/// How typed batches are written as CSV. The defaults are StarRocks/Doris Stream Load's body format: tab
/// separated, <c>\N</c> for NULL, fields holding a separator, quote or line break enclosed in quotes with quotes
/// doubled (the <c>enclose</c> header), no header row.
/// </summary>
internal sealed record CsvWriteOptions
{
    public byte Separator { get; init; } = (byte)'\t';

    public byte Enclose { get; init; } = (byte)'"';

    public string NullText { get; init; } = "\\N";

    public bool Header { get; init; }

    /// <summary>How a text value holding a separator, quote, line break or backslash is written.</summary>
    public CsvEscaping Escaping { get; init; } = CsvEscaping.Enclose;

    /// <summary>Boolean spellings: <c>true</c>/<c>false</c> by default; <c>1</c>/<c>0</c> for databases that store booleans as integers.</summary>
    public string TrueText { get; init; } = "true";

    public string FalseText { get; init; } = "false";

    public static CsvWriteOptions StreamLoad { get; } = new();

    /// <summary>
    /// The tab separated text MySQL's <c>LOAD DATA</c> and ClickHouse's <c>TabSeparated</c> read by default: no
    /// enclosing, <c>\</c> <c>\t</c> <c>\n</c> <c>\r</c> <c>\0</c> escapes, <c>\N</c> for NULL, booleans as 1/0.
    /// </summary>
    public static CsvWriteOptions BackslashTsv { get; } = new() { Escaping = CsvEscaping.Backslash, TrueText = "1", FalseText = "0" };
}

/// <summary>How special characters inside a text value are protected.</summary>
internal enum CsvEscaping
{
    /// <summary>RFC 4180: the value is enclosed in quotes and quotes inside it are doubled.</summary>
    Enclose,

    /// <summary>
    /// A backslash before the character (tab, newline, carriage return, NUL and backslash itself, written as
    /// <c>\t \n \r \0 \\</c>): a value is never enclosed, so a literal <c>\N</c> becomes <c>\\N</c>, never NULL.
    /// </summary>
    Backslash,
}

/// <summary>
/// Encodes Arrow record batches to CSV bytes without a string per value: numbers, decimals, dates and timestamps
/// are formatted straight into the output buffer, so every value round-trips to the same typed value.
/// </summary>
internal sealed class CsvArrowWriter
{
    private const int MaxFixedWidth = 48; // the longest non-string value: a 38-digit decimal with sign and point

    private readonly CsvWriteOptions _options;
    private readonly byte[] _null;
    private readonly byte[] _true;
    private readonly byte[] _false;
    private readonly SearchValues<byte> _needsEnclosing;
    private readonly SearchValues<byte> _needsEscape;

    public CsvArrowWriter(CsvWriteOptions? options = null)
    {
        _options = options ?? CsvWriteOptions.StreamLoad;
        _null = Encoding.UTF8.GetBytes(_options.NullText);
        _true = Encoding.UTF8.GetBytes(_options.TrueText);
        _false = Encoding.UTF8.GetBytes(_options.FalseText);
        if (Math.Max(_true.Length, _false.Length) > MaxFixedWidth)
        {
            throw new ArgumentException($"boolean texts longer than {MaxFixedWidth} bytes are not supported", nameof(options));
        }

        _needsEnclosing = SearchValues.Create([_options.Separator, _options.Enclose, (byte)'\r', (byte)'\n']);
        _needsEscape = SearchValues.Create([_options.Separator, (byte)'\\', (byte)'\r', (byte)'\n', (byte)'\t', 0]);
    }

    /// <summary>The header row: column names, enclosed where needed.</summary>
    public void WriteHeader(Apache.Arrow.Schema schema, IBufferWriter<byte> output)
    {
        for (var c = 0; c < schema.FieldsList.Count; c++)
        {
            var name = Encoding.UTF8.GetBytes(schema.FieldsList[c].Name);
            var span = output.GetSpan((name.Length * 2) + 4);
            var n = 0;
            if (c > 0)
            {
                span[n++] = _options.Separator;
            }

            n += WriteText(name, span[n..]);
            output.Advance(n);
        }

        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    /// <summary>Appends every row of <paramref name="batch"/>, each ending with <c>\n</c>.</summary>
    public void Write(RecordBatch batch, IBufferWriter<byte> output)
    {
        var columns = new ArrowColumnView[batch.ColumnCount];
        var pins = new List<MemoryHandle>();
        try
        {
            var fixedBound = 1;
            for (var c = 0; c < columns.Length; c++)
            {
                columns[c] = ArrowColumnView.Create(batch.Column(c), pins);
                fixedBound += 1 + (columns[c].Kind == ColumnKind.String ? 2 : Math.Max(MaxFixedWidth, _null.Length));
            }

            WriteRows(columns, batch.Length, fixedBound, output);
        }
        finally
        {
            pins.ForEach(p => p.Dispose());
        }
    }

    private void WriteRows(ArrowColumnView[] columns, int rows, int fixedBound, IBufferWriter<byte> output)
    {
        for (var row = 0; row < rows; row++)
        {
            // Bound the row's bytes once, then write without further capacity checks.
            var bound = fixedBound;
            for (var c = 0; c < columns.Length; c++)
            {
                if (columns[c].Kind == ColumnKind.String)
                {
                    bound += Math.Max(2 * columns[c].StringLength(row), _null.Length);
                }
            }

            var span = output.GetSpan(bound);
            var n = 0;
            for (var c = 0; c < columns.Length; c++)
            {
                if (c > 0)
                {
                    span[n++] = _options.Separator;
                }

                n += WriteValue(in columns[c], row, span[n..]);
            }

            span[n++] = (byte)'\n';
            output.Advance(n);
        }
    }

    private int WriteValue(in ArrowColumnView column, int row, Span<byte> dest)
    {
        if (column.IsNull(row))
        {
            _null.CopyTo(dest);
            return _null.Length;
        }

        int n;
        switch (column.Kind)
        {
            case ColumnKind.String:
                return WriteText(column.StringBytes(row), dest);
            case ColumnKind.Int8:
                Utf8Formatter.TryFormat(column.Value<sbyte>(row), dest, out n);
                return n;
            case ColumnKind.Int16:
                Utf8Formatter.TryFormat(column.Value<short>(row), dest, out n);
                return n;
            case ColumnKind.Int32:
                Utf8Formatter.TryFormat(column.Value<int>(row), dest, out n);
                return n;
            case ColumnKind.Int64:
                Utf8Formatter.TryFormat(column.Value<long>(row), dest, out n);
                return n;
            case ColumnKind.Float64:
                Utf8Formatter.TryFormat(column.Value<double>(row), dest, out n);
                return n;
            case ColumnKind.Bool:
                var text = column.Bool(row) ? _true : _false;
                text.CopyTo(dest);
                return text.Length;
            case ColumnKind.Decimal:
                return WriteDecimal(column.Value<Int128>(row), column.Scale, dest);
            case ColumnKind.Date:
                return WriteDate(column.Value<int>(row), dest);
            default:
                return WriteTimestamp(column.Value<long>(row), column.MicrosPerUnit, dest);
        }
    }

    private int WriteText(ReadOnlySpan<byte> text, Span<byte> dest)
    {
        if (_options.Escaping == CsvEscaping.Backslash)
        {
            return WriteEscaped(text, dest);
        }

        var needs = text.IndexOfAny(_needsEnclosing) >= 0 || text.SequenceEqual(_null);
        if (!needs)
        {
            text.CopyTo(dest);
            return text.Length;
        }

        var q = _options.Enclose;
        var n = 0;
        dest[n++] = q;
        foreach (var b in text)
        {
            if (b == q)
            {
                dest[n++] = q;
            }

            dest[n++] = b;
        }

        dest[n++] = q;
        return n;
    }

    /// <summary>At most two bytes per input byte, the bound <see cref="WriteRows"/> reserves.</summary>
    private int WriteEscaped(ReadOnlySpan<byte> text, Span<byte> dest)
    {
        var n = 0;
        while (true)
        {
            var at = text.IndexOfAny(_needsEscape);
            if (at < 0)
            {
                text.CopyTo(dest[n..]);
                return n + text.Length;
            }

            text[..at].CopyTo(dest[n..]);
            n += at;
            dest[n++] = (byte)'\\';
            dest[n++] = text[at] switch
            {
                (byte)'\t' => (byte)'t',
                (byte)'\n' => (byte)'n',
                (byte)'\r' => (byte)'r',
                0 => (byte)'0',
                var b => b, // the backslash itself, or a separator other than tab
            };
            text = text[(at + 1)..];
        }
    }

    internal static int WriteDecimal(Int128 value, int scale, Span<byte> dest)
    {
        var n = 0;
        if (value < 0)
        {
            dest[n++] = (byte)'-';
            value = -value;
        }

        Span<byte> digits = stackalloc byte[40];
        var count = 0;
        if (value <= ulong.MaxValue)
        {
            Utf8Formatter.TryFormat((ulong)value, digits, out count);
        }
        else
        {
            value.TryFormat(digits, out count, default, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (scale == 0)
        {
            digits[..count].CopyTo(dest[n..]);
            return n + count;
        }

        // Left-pad so there is at least one integer digit: 5 at scale 2 is 0.05.
        var pad = Math.Max(0, scale + 1 - count);
        var intDigits = count + pad - scale;
        for (var i = 0; i < intDigits; i++)
        {
            dest[n++] = i < pad ? (byte)'0' : digits[i - pad];
        }

        dest[n++] = (byte)'.';
        for (var i = intDigits; i < count + pad; i++)
        {
            dest[n++] = i < pad ? (byte)'0' : digits[i - pad];
        }

        return n;
    }

    internal static int WriteDate(int days, Span<byte> dest)
    {
        CivilFromDays(days, out var y, out var m, out var d);
        Digits(dest, 0, y, 4);
        dest[4] = (byte)'-';
        Digits(dest, 5, m, 2);
        dest[7] = (byte)'-';
        Digits(dest, 8, d, 2);
        return 10;
    }

    private static int WriteTimestamp(long value, long microsPerUnit, Span<byte> dest)
    {
        var micros = value * microsPerUnit;
        var days = (int)Math.Floor(micros / 86_400_000_000d);
        var inDay = micros - (days * 86_400_000_000L);
        var n = WriteDate(days, dest);
        dest[n++] = (byte)' ';
        var seconds = inDay / 1_000_000;
        Digits(dest, n, (int)(seconds / 3600), 2);
        dest[n + 2] = (byte)':';
        Digits(dest, n + 3, (int)(seconds / 60 % 60), 2);
        dest[n + 5] = (byte)':';
        Digits(dest, n + 6, (int)(seconds % 60), 2);
        n += 8;
        var fraction = (int)(inDay % 1_000_000);
        if (fraction != 0)
        {
            dest[n++] = (byte)'.';
            Digits(dest, n, fraction, 6);
            n += 6;
        }

        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Digits(Span<byte> dest, int at, int value, int width)
    {
        for (var i = width - 1; i >= 0; i--)
        {
            dest[at + i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }

    /// <summary>Howard Hinnant's civil_from_days: days since 1970-01-01 to a proleptic Gregorian date.</summary>
    private static void CivilFromDays(int z, out int y, out int m, out int d)
    {
        z += 719468;
        var era = (z >= 0 ? z : z - 146096) / 146097;
        var doe = z - (era * 146097);
        var yoe = (doe - (doe / 1460) + (doe / 36524) - (doe / 146096)) / 365;
        y = yoe + (era * 400);
        var doy = doe - ((365 * yoe) + (yoe / 4) - (yoe / 100));
        var mp = ((5 * doy) + 2) / 153;
        d = doy - (((153 * mp) + 2) / 5) + 1;
        m = mp < 10 ? mp + 3 : mp - 9;
        y += m <= 2 ? 1 : 0;
    }
}
