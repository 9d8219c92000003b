using System.Runtime.CompilerServices;
using EtlStream.Memory;

namespace EtlStream.Formats.Json;

/// <summary>One column's pooled Arrow string buffers while a batch is filled; handed to the batch when it is taken.</summary>
internal sealed class JsonColumnBuilder
{
    private const int MaxCarriedValueBytes = 4 * 1024 * 1024;

    private byte[] _values;
    private byte[] _offsets;
    private byte[] _validity;
    private int _length;

    public JsonColumnBuilder(int rows, int valueBytes)
    {
        _values = BufferPool.Rent(Math.Max(valueBytes, 256));
        (_offsets, _validity) = TextColumnBuffers.RentRowBuffers(rows);
    }

    /// <summary>Value bytes appended to the batch so far.</summary>
    public int Length => _length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(int row, ReadOnlySpan<byte> bytes)
    {
        if (_length + bytes.Length > _values.Length)
        {
            Grow(bytes.Length);
        }

        bytes.CopyTo(_values.AsSpan(_length));
        _length += bytes.Length;
        Unsafe.As<byte, int>(ref _offsets[(row + 1) * sizeof(int)]) = _length;
        _validity[row >> 3] |= (byte)(1 << (row & 7));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AppendNull(int row) => Unsafe.As<byte, int>(ref _offsets[(row + 1) * sizeof(int)]) = _length;

    public TextColumnData Detach(int rows, BatchMemory owner, int nextRows)
    {
        var nulls = rows - TextColumnBuffers.CountSet(_validity, rows);
        var data = new TextColumnData(_values, _offsets, _validity, nulls);
        owner.Adopt(_values);
        owner.AdoptExact(_offsets);
        owner.Adopt(_validity);

        // The next batch likely needs as much: start it there, up to a few MiB, so a column that held one huge value
        // does not keep its size for every batch after.
        _values = BufferPool.Rent(Math.Clamp(_length, 256, MaxCarriedValueBytes));
        (_offsets, _validity) = TextColumnBuffers.RentRowBuffers(nextRows);
        _length = 0;
        return data;
    }

    public void Release()
    {
        BufferPool.Return(_values);
        BufferPool.ReturnExact(_offsets);
        BufferPool.Return(_validity);
        _values = _offsets = _validity = [];
    }

    private void Grow(int needed)
    {
        var bigger = BufferPool.Rent(Math.Max(_values.Length * 2, _length + needed));
        Buffer.BlockCopy(_values, 0, bigger, 0, _length);
        BufferPool.Return(_values);
        _values = bigger;
    }
}
