using System.Buffers;
using EtlStream.Memory;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// One load's body, written once and sent as many times as retries and redirects need: a pooled array that grows
/// by doubling and goes back to the pool when the load is done.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int initialCapacity) => _buffer = BufferPool.Rent(Math.Max(initialCapacity, 4096));

    public int Written => _written;

    public ArraySegment<byte> Segment => new(_buffer, 0, _written);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            BufferPool.Return(_buffer);
            _buffer = [];
        }
    }

    private void Ensure(int sizeHint)
    {
        var need = _written + Math.Max(sizeHint, 1);
        if (need <= _buffer.Length)
        {
            return;
        }

        var bigger = BufferPool.Rent((int)Math.Min(Array.MaxLength, Math.Max(need, 2L * _buffer.Length)));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        BufferPool.Return(_buffer);
        _buffer = bigger;
    }
}
