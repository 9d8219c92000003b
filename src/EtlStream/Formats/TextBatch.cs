using System.Runtime.InteropServices;
using Apache.Arrow;
using EtlStream.Memory;

namespace EtlStream.Formats;

/// <summary>
/// One batch of records read by an input format. A column is either text, UTF-8 bytes in Arrow string layout
/// (values, offsets, validity: CSV, JSON), or a typed Arrow array as a columnar format stores it (Parquet, Arrow).
/// The transforms read a typed column directly when its type converts to the spec's (<see cref="Typed"/>), and read
/// every other column, and a typed one wherever text is needed (rules, string columns, a reject's raw row), as text:
/// a typed column's text is made once, on first use, so one conversion, rule and reject path serves every format.
/// Each record carries the source line it starts on (its 1-based record number in a columnar file) so later stages
/// can name it in errors.
/// The buffers are pooled: dispose the batch when done, and do not keep arrays obtained from it.
/// </summary>
public sealed class TextBatch : IDisposable
{
    private readonly BatchMemory _memory;
    private readonly TextColumnData[] _columns;
    private readonly long[]? _lines;
    private readonly IArrowArray?[]? _typed;
    private readonly long _firstRecord;
    private readonly long _typedBytes;
    private IDisposable? _owner;

    /// <param name="broken">Records the format could not read (malformed JSON): rows of NULLs the transform rejects.</param>
    internal TextBatch(string source, IReadOnlyList<string> header, TextColumnData[] columns, long[] lines, int rowCount, long bytes, BatchMemory memory,
        IReadOnlyList<BrokenRecord>? broken = null)
    {
        Broken = broken ?? [];
        Source = source;
        Header = header;
        _columns = columns;
        _lines = lines;
        RowCount = rowCount;
        Bytes = bytes;
        _memory = memory;
    }

    private TextBatch(string source, IReadOnlyList<string> header, IArrowArray?[] typed, int rowCount, long firstRecord, long bytes, long typedBytes, IDisposable? owner)
    {
        Broken = []; // a typed format reads whole columns: it has no record it could not frame
        Source = source;
        Header = header;
        _columns = new TextColumnData[typed.Length];
        _typed = typed;
        _firstRecord = firstRecord;
        RowCount = rowCount;
        Bytes = bytes;
        _typedBytes = typedBytes;
        _owner = owner;
        _memory = new BatchMemory();
    }

    /// <summary>
    /// A batch of typed Arrow columns, one per header field (null: a field the spec does not read, which reads as
    /// NULL). <paramref name="firstRecord"/> is the 1-based number of its first record in the entry;
    /// <paramref name="owner"/> (the arrays' memory) is disposed with the batch, and <paramref name="typedBytes"/> is
    /// what it holds, counted against the memory budget.
    /// </summary>
    public static TextBatch FromArrow(string source, IReadOnlyList<string> header, IArrowArray?[] columns, int rowCount, long firstRecord, long bytes, long typedBytes, IDisposable? owner)
    {
        if (columns.Length != header.Count)
        {
            throw new ArgumentException($"{columns.Length} columns for a header of {header.Count}", nameof(columns));
        }

        foreach (var c in columns)
        {
            if (c is not null && c.Length != rowCount)
            {
                throw new ArgumentException($"a column of {c.Length} rows in a batch of {rowCount}", nameof(columns));
            }
        }

        return new TextBatch(source, header, columns, rowCount, firstRecord, bytes, typedBytes, owner);
    }

    /// <summary>The file (or archive entry) the records came from.</summary>
    public string Source { get; }

    public IReadOnlyList<string> Header { get; }

    public int RowCount { get; }

    public int ColumnCount => _columns.Length;

    /// <summary>Uncompressed bytes of input these records were parsed from.</summary>
    public long Bytes { get; }

    /// <summary>The 1-based source line the record starts on; for a columnar format, its record number.</summary>
    public long LineOf(int row) => _lines is null ? _firstRecord + row : _lines[row];

    /// <summary>The column as the format typed it, or null for a text column (and a field not read).</summary>
    public IArrowArray? Typed(int column) => _typed?[column];

    /// <summary>A column's text; a typed column's is made on first use (<see cref="TypedColumnText"/>).</summary>
    internal ref readonly TextColumnData Data(int column)
    {
        if (_columns[column].Values is null)
        {
            _columns[column] = TypedColumnText.Write(_typed?[column], RowCount, _memory);
        }

        return ref _columns[column];
    }

    /// <summary>
    /// The text of a record the format could not read, as read (a malformed JSON line); null for every other row,
    /// whose raw row is its fields. Kept for those rows only: a copy of every record doubled a JSON batch's memory.
    /// </summary>
    public string? RawRecord(int row)
    {
        foreach (var b in Broken)
        {
            if (b.Row == row)
            {
                return b.Raw;
            }
        }

        return null;
    }

    /// <summary>Rows the format could not read, each with why; the transform rejects them (rule <c>format</c>).</summary>
    internal IReadOnlyList<BrokenRecord> Broken { get; }

    /// <summary>A column as an Arrow string array over the batch's buffers (no copy); valid until disposal.</summary>
    public StringArray Column(int column)
    {
        ref readonly var c = ref Data(column);
        return new StringArray(
            RowCount,
            new ArrowBuffer(c.OffsetBytes.AsMemory(0, (RowCount + 1) * sizeof(int))),
            new ArrowBuffer(c.Values.AsMemory(0, c.Offsets[RowCount])),
            new ArrowBuffer(c.Validity.AsMemory(0, (RowCount + 7) / 8)),
            c.NullCount,
            0);
    }

    /// <summary>The bytes behind the batch: its pooled arrays as allocated, and the typed columns' buffers.</summary>
    internal long MemoryBytes => _memory.Bytes + _typedBytes;

    public void Dispose()
    {
        _memory.Dispose();
        Interlocked.Exchange(ref _owner, null)?.Dispose();
    }
}

/// <summary>A record the input format could not read (<paramref name="Reason"/>: <c>invalid JSON at byte 88: expected ',' or '}'</c>).</summary>
internal readonly record struct BrokenRecord(int Row, string Reason, string Raw);

/// <summary>One column of a <see cref="TextBatch"/> in Arrow string layout.</summary>
internal readonly record struct TextColumnData(byte[] Values, byte[] OffsetBytes, byte[] Validity, int NullCount)
{
    public ReadOnlySpan<int> Offsets => MemoryMarshal.Cast<byte, int>(OffsetBytes);

    public bool IsNull(int row) => (Validity[row >> 3] & (1 << (row & 7))) == 0;

    public ReadOnlySpan<byte> Value(int row)
    {
        var offsets = Offsets;
        return Values.AsSpan(offsets[row], offsets[row + 1] - offsets[row]);
    }
}
