using EtlStream.Formats;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Memory;
using EtlStream.Tables;

namespace EtlStream.Transforms;

/// <summary>
/// Builds one output Arrow array for the selected rows of a parsed batch: a cast kernel for a source column,
/// or a computed column. Kernels walk whole batches over spans; nothing per row allocates.
/// </summary>
internal abstract class ColumnReader(ColumnSpec column)
{
    public ColumnSpec Column { get; } = column;

    public abstract IArrowArray Read(TextBatch batch, ReadOnlySpan<int> rows, BatchMemory memory, in BatchContext context, RowErrors errors);

    protected static byte[] RentValidity(BatchMemory memory, int rows)
    {
        var bitmap = memory.RentBytes((rows + 7) / 8);
        System.Array.Clear(bitmap, 0, (rows + 7) / 8);
        return bitmap;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static void SetValid(byte[] bitmap, int i) => bitmap[i >> 3] |= (byte)(1 << (i & 7));

    protected static IArrowArray Build(IArrowType type, int length, int nullCount, byte[] validity, params ReadOnlySpan<ArrowBuffer> buffers)
    {
        var all = new ArrowBuffer[buffers.Length + 1];
        all[0] = nullCount == 0 ? ArrowBuffer.Empty : new ArrowBuffer(validity.AsMemory(0, (length + 7) / 8));
        buffers.CopyTo(all.AsSpan(1));
        return ArrowArrayFactory.BuildArray(new ArrayData(type, length, nullCount, 0, all));
    }
}

/// <summary>
/// A column's field texts with the buffers taken as spans once per batch: reading them through
/// <see cref="TextColumnData"/> per value re-derived the spans each time.
/// </summary>
internal ref struct FieldCursor
{
    private readonly ReadOnlySpan<int> _offsets;
    private readonly ReadOnlySpan<byte> _values;
    private readonly ReadOnlySpan<byte> _validity;
    private readonly bool _trim;
    private readonly byte[][] _nullTokens;

    public FieldCursor(in TextColumnData src, bool trim, byte[][] nullTokens)
    {
        _offsets = src.Offsets;
        _values = src.Values;
        _validity = src.Validity;
        _trim = trim;
        _nullTokens = nullTokens;
    }

    /// <summary>The row's text (trimmed when the column trims), or false when it is NULL, by the file or a null token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool TryGet(int row, out ReadOnlySpan<byte> text)
    {
        if ((_validity[row >> 3] & (1 << (row & 7))) == 0)
        {
            text = default;
            return false;
        }

        var start = _offsets[row];
        text = _values.Slice(start, _offsets[row + 1] - start);
        if (_trim)
        {
            text = Text.TrimSpaces(text);
        }

        if (_nullTokens.Length > 0)
        {
            foreach (var t in _nullTokens)
            {
                if (text.SequenceEqual(t))
                {
                    return false;
                }
            }
        }

        return true;
    }
}

/// <summary>What a computed column may draw on besides the row: the file and the run.</summary>
internal readonly record struct BatchContext(string SourceFileName, int LoadDateDays, string TenantId);

/// <summary>Reads a source field: trims, applies the column's null tokens and enforces NOT NULL.</summary>
internal abstract class SourceColumnReader(ColumnSpec column, int sourceIndex, string sourceHeader) : ColumnReader(column)
{
    private readonly byte[][] _nullTokens = [.. column.NullTokens.Select(Encoding.UTF8.GetBytes)];

    public int SourceIndex { get; } = sourceIndex;

    /// <summary>The field's text for one row, or false when it is NULL (a NOT NULL column also fails the row).</summary>
    public bool TryText(TextBatch batch, in TextColumnData src, int row, RowErrors errors, out ReadOnlySpan<byte> text) =>
        Open(src).TryGet(row, out text) || NullOrFail(batch, row, errors);

    /// <summary>Whether one row's field holds a value (not NULL after trimming and null tokens); never fails the row.</summary>
    public bool IsPresent(in TextColumnData src, int row) => Open(src).TryGet(row, out _);

    /// <summary>
    /// The one reading of this column's fields (NULL, trim, null tokens), with the spans taken once: kernels and rule
    /// checks walk a whole batch with it; single-row reads above open one per row.
    /// </summary>
    internal FieldCursor Open(in TextColumnData src) => new(src, Column.Trim, _nullTokens);

    /// <summary>What a kernel does with a NULL: always store a null (false); in a NOT NULL column the row is also failed.</summary>
    internal bool NullOrFail(TextBatch batch, int row, RowErrors errors)
    {
        if (!Column.Nullable)
        {
            errors.Fail(Error(batch, row, ReadOnlySpan<byte>.Empty, "NULL in a NOT NULL column"), row, Rules.NotNull);
        }

        return false;
    }

    internal DataConversionException Error(TextBatch batch, int row, ReadOnlySpan<byte> text, string reason) =>
        Error(batch, row, Encoding.UTF8.GetString(text), reason);

    internal DataConversionException Error(TextBatch batch, int row, string value, string reason) =>
        new(batch.Source, batch.LineOf(row), SourceIndex + 1, Column.Name, sourceHeader, value, Column.Type.ToString(), reason);
}

internal sealed class StringColumnReader(ColumnSpec column, int sourceIndex, string header) : SourceColumnReader(column, sourceIndex, header)
{
    public override IArrowArray Read(TextBatch batch, ReadOnlySpan<int> rows, BatchMemory memory, in BatchContext context, RowErrors errors)
    {
        ref readonly var src = ref batch.Data(SourceIndex);
        var n = rows.Length;
        var offsetBytes = memory.RentOffsets(batch.RowCount);
        var offsets = MemoryMarshal.Cast<byte, int>(offsetBytes.AsSpan());
        var values = memory.RentBytes(EstimateBytes(src, rows));
        var validity = RentValidity(memory, n);
        var length = 0;
        var nulls = 0;
        var maxLength = Column.Overflow == Overflow.Widen ? int.MaxValue : Column.Type.MaxLength ?? int.MaxValue;
        var cursor = Open(src);
        var allValid = AllValidUtf8(src, rows);
        offsets[0] = 0;
        for (var i = 0; i < n; i++)
        {
            var row = rows[i];
            var present = cursor.TryGet(row, out var text) || NullOrFail(batch, row, errors);
            if (present && text.Length > maxLength && Column.Overflow == Overflow.Truncate)
            {
                text = TruncateUtf8(text, maxLength);
            }

            if (present && text.Length > maxLength)
            {
                errors.Fail(Error(batch, row, text, $"{text.Length} bytes is longer than {Column.Type}"), row, Rules.MaxLength);
                present = false;
            }

            if (present && !allValid && (!System.Text.Unicode.Utf8.IsValid(text) || text.Contains((byte)0)))
            {
                // NUL is valid UTF-8, but PostgreSQL and others refuse it in text: a row with one is rejected too.
                errors.Fail(Error(batch, row, text, text.Contains((byte)0) ? "NUL byte in text" : "invalid UTF-8"), row, Rules.Encoding);
                present = false;
            }

            if (present)
            {
                if (length + text.Length > values.Length)
                {
                    values = Grow(memory, values, length, text.Length);
                }

                text.CopyTo(values.AsSpan(length));
                length += text.Length;
                SetValid(validity, i);
            }
            else
            {
                nulls++;
            }

            offsets[i + 1] = length;
        }

        return Build(StringType.Default, n, nulls, validity,
            new ArrowBuffer(offsetBytes.AsMemory(0, (n + 1) * sizeof(int))),
            new ArrowBuffer(values.AsMemory(0, length)));
    }

    /// <summary>
    /// Whether every value from the first to the last selected row is valid UTF-8, in one vectorized pass instead
    /// of one per value: the bytes are valid taken together, and no value starts inside a character (which is the
    /// only way a character could straddle two values). On any doubt the kernel checks value by value.
    /// </summary>
    private static bool AllValidUtf8(in TextColumnData src, ReadOnlySpan<int> rows)
    {
        if (rows.Length == 0)
        {
            return true;
        }

        var offsets = src.Offsets;
        var values = src.Values;
        var all = values.AsSpan(offsets[rows[0]], offsets[rows[^1] + 1] - offsets[rows[0]]);

        // Most columns are ASCII: one vectorized pass settles it (bytes 1..127: no NUL, no character to straddle values).
        if (all.IndexOfAnyExceptInRange((byte)1, (byte)0x7F) < 0)
        {
            return true;
        }

        for (var row = rows[0]; row <= rows[^1]; row++)
        {
            if (offsets[row + 1] > offsets[row] && (values[offsets[row]] & 0xC0) == 0x80)
            {
                return false;
            }
        }

        return System.Text.Unicode.Utf8.IsValid(all) && !all.Contains((byte)0);
    }

    /// <summary>The longest prefix of at most <paramref name="bytes"/> bytes that ends on a whole UTF-8 character.</summary>
    internal static ReadOnlySpan<byte> TruncateUtf8(ReadOnlySpan<byte> text, int bytes)
    {
        var end = bytes;
        while (end > 0 && (text[end] & 0xC0) == 0x80)
        {
            end--;
        }

        return text[..end];
    }

    private static int EstimateBytes(in TextColumnData src, ReadOnlySpan<int> rows)
    {
        if (rows.Length == 0)
        {
            return 16;
        }

        // Selected rows are in order, so the source span from the first to the last bounds their bytes.
        var offsets = src.Offsets;
        return offsets[rows[^1] + 1] - offsets[rows[0]];
    }

    private static byte[] Grow(BatchMemory memory, byte[] values, int length, int needed)
    {
        var bigger = memory.RentBytes(Math.Max(values.Length * 2, length + needed));
        Buffer.BlockCopy(values, 0, bigger, 0, length);
        return bigger;
    }
}

/// <summary>A fixed-width cast kernel: int8..int64, decimal, float64, date, timestamp.</summary>
internal sealed class PrimitiveColumnReader<T, TParser>(ColumnSpec column, int sourceIndex, string header, IArrowType type, TParser parser)
    : SourceColumnReader(column, sourceIndex, header)
    where T : unmanaged
    where TParser : struct, IValueParser<T>
{
    public override IArrowArray Read(TextBatch batch, ReadOnlySpan<int> rows, BatchMemory memory, in BatchContext context, RowErrors errors)
    {
        var n = rows.Length;
        var size = Unsafe.SizeOf<T>();
        var valueBytes = memory.RentBytes(n * size);
        var values = MemoryMarshal.Cast<byte, T>(valueBytes.AsSpan(0, n * size));
        var validity = RentValidity(memory, n);
        if (batch.Typed(SourceIndex) is { } typed && TypedCast.TryRead(this, batch, typed, rows, values, validity, errors, out var typedNulls))
        {
            return Build(type, n, typedNulls, validity, new ArrowBuffer(valueBytes.AsMemory(0, n * size)));
        }

        ref readonly var src = ref batch.Data(SourceIndex);
        var nulls = 0;
        var p = parser;
        var cursor = Open(src);
        for (var i = 0; i < n; i++)
        {
            var row = rows[i];
            if (!cursor.TryGet(row, out var text) && !NullOrFail(batch, row, errors))
            {
                values[i] = default;
                nulls++;
                continue;
            }

            if (!p.TryParse(text, out values[i], out var reason))
            {
                errors.Fail(Error(batch, row, text, reason!), row, Rules.Conversion);
                values[i] = default;
                nulls++;
                continue;
            }

            SetValid(validity, i);
        }

        return Build(type, n, nulls, validity, new ArrowBuffer(valueBytes.AsMemory(0, n * size)));
    }

    /// <summary>Parses one value for a filter, with the same rules as the kernel.</summary>
    public bool TryRead(TextBatch batch, in TextColumnData src, int row, RowErrors errors, out T value)
    {
        if (batch.Typed(SourceIndex) is { } typed)
        {
            var read = TypedCast.TryReadOne(this, batch, typed, row, errors, out value, out var handled);
            if (handled)
            {
                return read;
            }
        }

        value = default;
        if (!TryText(batch, src, row, errors, out var text))
        {
            return false;
        }

        if (parser.TryParse(text, out value, out var reason))
        {
            return true;
        }

        errors.Fail(Error(batch, row, text, reason!), row, Rules.Conversion);
        return false;
    }
}

internal sealed class BoolColumnReader(ColumnSpec column, int sourceIndex, string header)
    : SourceColumnReader(column, sourceIndex, header)
{
    private readonly BoolTokens _tokens = new(column.TrueTokens, column.FalseTokens);

    public override IArrowArray Read(TextBatch batch, ReadOnlySpan<int> rows, BatchMemory memory, in BatchContext context, RowErrors errors)
    {
        var n = rows.Length;
        var bits = RentValidity(memory, n);
        var validity = RentValidity(memory, n);
        var nulls = 0;
        if (batch.Typed(SourceIndex) is BooleanArray booleans)
        {
            for (var i = 0; i < n; i++)
            {
                if (booleans.GetValue(rows[i]) is not { } value)
                {
                    NullOrFail(batch, rows[i], errors);
                    nulls++;
                    continue;
                }

                SetValid(validity, i);
                if (value)
                {
                    SetValid(bits, i);
                }
            }

            return Build(BooleanType.Default, n, nulls, validity, new ArrowBuffer(bits.AsMemory(0, (n + 7) / 8)));
        }

        ref readonly var src = ref batch.Data(SourceIndex);
        for (var i = 0; i < n; i++)
        {
            if (!TryRead(batch, src, rows[i], errors, out var value))
            {
                nulls++;
                continue;
            }

            SetValid(validity, i);
            if (value)
            {
                SetValid(bits, i);
            }
        }

        return Build(BooleanType.Default, n, nulls, validity, new ArrowBuffer(bits.AsMemory(0, (n + 7) / 8)));
    }

    public bool TryRead(TextBatch batch, in TextColumnData src, int row, RowErrors errors, out bool value)
    {
        value = false;
        if (batch.Typed(SourceIndex) is BooleanArray booleans)
        {
            if (booleans.GetValue(row) is { } b)
            {
                value = b;
                return true;
            }

            return NullOrFail(batch, row, errors);
        }

        if (!TryText(batch, src, row, errors, out var text))
        {
            return false;
        }

        if (_tokens.TryParse(text, out value))
        {
            return true;
        }

        errors.Fail(Error(batch, row, text, _tokens.Describe), row, Rules.Conversion);
        return false;
    }
}

/// <summary><c>concat</c>: other columns' texts (trimmed as their columns are) and literals, joined by a separator.</summary>
internal sealed class ConcatColumnReader : ColumnReader
{
    private readonly (SourceColumnReader? Column, byte[] Literal)[] _parts;
    private readonly byte[] _separator;

    public ConcatColumnReader(ColumnSpec column, ConcatSpec spec, IReadOnlyDictionary<string, SourceColumnReader> sources)
        : base(column)
    {
        _separator = Encoding.UTF8.GetBytes(spec.Separator);
        _parts = [.. spec.Parts.Select(p => p.Column is { } c ? (sources[c], System.Array.Empty<byte>()) : ((SourceColumnReader?)null, Encoding.UTF8.GetBytes(p.Literal ?? "")))];
    }

    public override IArrowArray Read(TextBatch batch, ReadOnlySpan<int> rows, BatchMemory memory, in BatchContext context, RowErrors errors)
    {
        var n = rows.Length;
        var offsetBytes = memory.RentOffsets(batch.RowCount);
        var offsets = MemoryMarshal.Cast<byte, int>(offsetBytes.AsSpan());
        var values = memory.RentBytes(Math.Max(n * 16, 1024));
        var validity = RentValidity(memory, n);
        var length = 0;
        var nulls = 0;
        offsets[0] = 0;
        for (var i = 0; i < n; i++)
        {
            var start = length;
            var isNull = false;
            for (var p = 0; p < _parts.Length && !isNull; p++)
            {
                ReadOnlySpan<byte> piece;
                var part = _parts[p];
                if (part.Column is { } c)
                {
                    ref readonly var src = ref batch.Data(c.SourceIndex);
                    var row = rows[i];
                    if (src.IsNull(row))
                    {
                        isNull = true;
                        break;
                    }

                    piece = c.Column.Trim ? Text.TrimSpaces(src.Value(row)) : src.Value(row);
                }
                else
                {
                    piece = part.Literal;
                }

                var needed = piece.Length + (p > 0 ? _separator.Length : 0);
                if (length + needed > values.Length)
                {
                    var bigger = memory.RentBytes(Math.Max(values.Length * 2, length + needed));
                    Buffer.BlockCopy(values, 0, bigger, 0, length);
                    values = bigger;
                }

                if (p > 0)
                {
                    _separator.CopyTo(values.AsSpan(length));
                    length += _separator.Length;
                }

                piece.CopyTo(values.AsSpan(length));
                length += piece.Length;
            }

            if (isNull)
            {
                length = start;
                nulls++;
            }
            else
            {
                SetValid(validity, i);
            }

            offsets[i + 1] = length;
        }

        return Build(StringType.Default, n, nulls, validity,
            new ArrowBuffer(offsetBytes.AsMemory(0, (n + 1) * sizeof(int))),
            new ArrowBuffer(values.AsMemory(0, length)));
    }
}

/// <summary>The same text on every row: a constant, or from the batch's context (the source file's name, the tenant).</summary>
internal sealed class ConstantTextColumnReader(ColumnSpec column, string? constant, Func<BatchContext, string>? fromContext = null) : ColumnReader(column)
{
    private readonly byte[]? _constant = constant is null ? null : Encoding.UTF8.GetBytes(constant);

    public override IArrowArray Read(TextBatch batch, ReadOnlySpan<int> rows, BatchMemory memory, in BatchContext context, RowErrors errors)
    {
        var text = _constant ?? Encoding.UTF8.GetBytes(fromContext!(context));
        var n = rows.Length;
        var offsetBytes = memory.RentOffsets(batch.RowCount);
        var offsets = MemoryMarshal.Cast<byte, int>(offsetBytes.AsSpan());
        var values = memory.RentBytes(Math.Max(n * text.Length, 1));
        for (var i = 0; i < n; i++)
        {
            text.CopyTo(values.AsSpan(i * text.Length));
            offsets[i] = i * text.Length;
        }

        offsets[n] = n * text.Length;
        return Build(StringType.Default, n, 0, [],
            new ArrowBuffer(offsetBytes.AsMemory(0, (n + 1) * sizeof(int))),
            new ArrowBuffer(values.AsMemory(0, n * text.Length)));
    }
}

internal sealed class LoadDateColumnReader(ColumnSpec column) : ColumnReader(column)
{
    public override IArrowArray Read(TextBatch batch, ReadOnlySpan<int> rows, BatchMemory memory, in BatchContext context, RowErrors errors)
    {
        var n = rows.Length;
        var bytes = memory.RentBytes(n * sizeof(int));
        MemoryMarshal.Cast<byte, int>(bytes.AsSpan(0, n * sizeof(int))).Fill(context.LoadDateDays);
        return Build(Date32Type.Default, n, 0, [], new ArrowBuffer(bytes.AsMemory(0, n * sizeof(int))));
    }
}

/// <summary>An optional column the file lacks: NULL on every row.</summary>
internal sealed class NullColumnReader(ColumnSpec column) : ColumnReader(column)
{
    public override IArrowArray Read(TextBatch batch, ReadOnlySpan<int> rows, BatchMemory memory, in BatchContext context, RowErrors errors)
    {
        var n = rows.Length;
        var offsetBytes = memory.RentOffsets(batch.RowCount);
        System.Array.Clear(offsetBytes, 0, (n + 1) * sizeof(int));
        return Build(StringType.Default, n, n, RentValidity(memory, n),
            new ArrowBuffer(offsetBytes.AsMemory(0, (n + 1) * sizeof(int))),
            ArrowBuffer.Empty);
    }
}

