using System.Buffers;

namespace EtlStream.Memory;

/// <summary>
/// The pool every batch buffer comes from. Batches are large (a 64 Ki-row string column is megabytes), so
/// the shared pool's small per-core caches would miss and the GC would churn the large-object heap.
/// </summary>
internal static class BufferPool
{
    public static readonly ArrayPool<byte> Bytes = ArrayPool<byte>.Create(maxArrayLength: 256 * 1024 * 1024, maxArraysPerBucket: 64);
    public static readonly ArrayPool<long> Longs = ArrayPool<long>.Create(maxArrayLength: 64 * 1024 * 1024, maxArraysPerBucket: 32);
}

/// <summary>Owns the pooled arrays behind one batch's Arrow buffers and returns them when disposed.</summary>
internal sealed class BatchMemory : IDisposable
{
    private readonly List<byte[]> _bytes = [];
    private readonly List<long[]> _longs = [];

    public byte[] RentBytes(int minimumLength)
    {
        var a = BufferPool.Bytes.Rent(Math.Max(minimumLength, 16));
        _bytes.Add(a);
        return a;
    }

    public long[] RentLongs(int minimumLength)
    {
        var a = BufferPool.Longs.Rent(Math.Max(minimumLength, 16));
        _longs.Add(a);
        return a;
    }

    /// <summary>Takes ownership of an array rented elsewhere (a parser's growing buffer).</summary>
    public void Adopt(byte[] array) => _bytes.Add(array);

    public void Adopt(long[] array) => _longs.Add(array);

    public void Dispose()
    {
        foreach (var a in _bytes)
        {
            BufferPool.Bytes.Return(a);
        }

        foreach (var a in _longs)
        {
            BufferPool.Longs.Return(a);
        }

        _bytes.Clear();
        _longs.Clear();
    }
}
