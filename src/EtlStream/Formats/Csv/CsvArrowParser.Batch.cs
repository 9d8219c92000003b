using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using EtlStream.Memory;

namespace EtlStream.Formats.Csv;

public sealed partial class CsvArrowParser
{
    /// <summary>
    /// Sets the rows the next batch's buffers hold, rounded down to a power of two: the exact-size offsets pool keeps
    /// a list per size, so a handful of sizes instead of one per batch.
    /// </summary>
    private void SetRowCap(long rows)
    {
        var cap = rows >= _options.BatchRows ? _options.BatchRows : (int)Math.Max(1, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)rows + 1) / 2);
        _rowCap = Math.Max(cap, _rows);
        foreach (var c in _columns)
        {
            c.EnsureRows(_rowCap, _rows);
        }

        if (_lines.Length < _rowCap)
        {
            var lines = BufferPool.Longs.Rent(_rowCap);
            _lines.AsSpan(0, _rows).CopyTo(lines);
            BufferPool.Longs.Return(_lines);
            _lines = lines;
        }
    }

    private void CommitRow(int lineBreaks, int bytes)
    {
        if (_lines.Length > _rows)
        {
            _lines[_rows] = _line;
        }

        _line += 1 + lineBreaks;
        _batchBytes += bytes;
        _rows++;
    }

    private void RollBack()
    {
        foreach (var c in _columns)
        {
            c.RollBack(_rows);
        }
    }

    private TextBatch TakeBatch()
    {
        // The next batch is sized from this one's real bytes per row: long records shrink it, short ones grow it back.
        var perRow = Math.Max(1, (_batchBytes + ((_rows + 1) * _rowBytes)) / _rows);
        var nextCap = _options.BatchBytes / perRow;
        nextCap = nextCap >= _options.BatchRows ? _options.BatchRows : (int)Math.Max(1, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)nextCap + 1) / 2);
        var memory = new BatchMemory();
        var data = new TextColumnData[_columns.Length];
        for (var c = 0; c < data.Length; c++)
        {
            data[c] = _columns[c].Detach(_rows, memory, (int)nextCap);
        }

        var lines = _lines;
        memory.Adopt(lines);
        _rowCap = (int)nextCap;
        _lines = BufferPool.Longs.Rent(_rowCap);
        var batch = new TextBatch(_source, _header!, data, lines, _rows, _batchBytes, memory);
        _rows = 0;
        _batchBytes = 0;
        _full = false;
        return batch;
    }
}
