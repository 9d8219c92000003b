using System.Runtime.InteropServices;
using Apache.Arrow;
using EtlStream.Memory;

namespace EtlStream.Formats;

/// <summary>
/// One batch of records read by an input format: every field as UTF-8 bytes in Arrow string layout (values,
/// offsets, validity), plus the source line each record starts on so later stages can name it in errors. The
/// transforms read typed values from this text, so every format that yields text fields (CSV, JSON) shares one
/// conversion, rule and reject path.
/// The buffers are pooled: dispose the batch when done, and do not keep arrays obtained from it.
/// </summary>
public sealed class TextBatch : IDisposable
{
    private readonly BatchMemory _memory;
    private readonly TextColumnData[] _columns;
    private readonly long[] _lines;

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

    /// <summary>The file (or archive entry) the records came from.</summary>
    public string Source { get; }

    public IReadOnlyList<string> Header { get; }

    public int RowCount { get; }

    public int ColumnCount => _columns.Length;

    /// <summary>Uncompressed bytes of input these records were parsed from.</summary>
    public long Bytes { get; }

    /// <summary>The 1-based source line the record starts on.</summary>
    public long LineOf(int row) => _lines[row];

    internal ref readonly TextColumnData Data(int column) => ref _columns[column];

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
        ref readonly var c = ref _columns[column];
        return new StringArray(
            RowCount,
            new ArrowBuffer(c.OffsetBytes.AsMemory(0, (RowCount + 1) * sizeof(int))),
            new ArrowBuffer(c.Values.AsMemory(0, c.Offsets[RowCount])),
            new ArrowBuffer(c.Validity.AsMemory(0, (RowCount + 7) / 8)),
            c.NullCount,
            0);
    }

    /// <summary>The bytes of the pooled arrays behind the batch, as allocated.</summary>
    internal long MemoryBytes => _memory.Bytes;

    public void Dispose() => _memory.Dispose();
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
