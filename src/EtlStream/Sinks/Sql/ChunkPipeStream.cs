using System.Buffers;
using System.Threading.Channels;
using EtlStream.Sources;

namespace EtlStream.Sinks.Sql;

/// <summary>
/// A read-only stream fed with encoded buffers by another task, so that one bulk load (LOAD DATA LOCAL INFILE, a ClickHouse INSERT body) can read a
/// whole run while batches are still being encoded. Bounded: a writer waits while <c>capacity</c> buffers are
/// unread, which is the backpressure from the server. Buffers come from the shared array pool and go back once read.
/// </summary>
internal sealed class ChunkPipeStream(int capacity) : ForwardReadStream
{
    private readonly Channel<(byte[] Array, int Length)> _buffers = Channel.CreateBounded<(byte[], int)>(
        new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });

    private byte[]? _current;
    private int _length;
    private int _position;

    /// <summary>Queues a copy of <paramref name="data"/>; waits while the reader is <c>capacity</c> buffers behind.</summary>
    public async ValueTask WriteChunkAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var array = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(array);
        try
        {
            await _buffers.Writer.WriteAsync((array, data.Length), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(array);
            throw;
        }
    }

    /// <summary>
    /// Encodes each batch into <paramref name="scratch"/> and queues it for the reader, the statement running as
    /// <paramref name="consumer"/>; fails (with the statement's own error, if it has one) when that statement ended
    /// before the data did, instead of waiting forever on a pipe nobody reads.
    /// </summary>
    public async Task FeedAsync(
        IReadOnlyList<Apache.Arrow.RecordBatch> batches, Action<Apache.Arrow.RecordBatch, ArrayBufferWriter<byte>> encode, ArrayBufferWriter<byte> scratch,
        Task consumer, string endedEarly, CancellationToken cancellationToken)
    {
        foreach (var batch in batches)
        {
            scratch.ResetWrittenCount();
            encode(batch, scratch);
            var write = WriteChunkAsync(scratch.WrittenMemory, cancellationToken).AsTask();
            if (await Task.WhenAny(write, consumer).ConfigureAwait(false) != write)
            {
                await consumer.ConfigureAwait(false); // its error, if it failed
                throw new InvalidOperationException(endedEarly);
            }

            await write.ConfigureAwait(false);
        }
    }

    /// <summary>The end of the data; with <paramref name="error"/>, the reader fails with it instead of seeing an end.</summary>
    public void Complete(Exception? error = null) => _buffers.Writer.TryComplete(error);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current is null || _position == _length)
        {
            if (_current is not null)
            {
                ArrayPool<byte>.Shared.Return(_current);
                _current = null;
            }

            if (!await _buffers.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }

            if (_buffers.Reader.TryRead(out var next))
            {
                (_current, _length, _position) = (next.Array, next.Length, 0);
            }
        }

        var n = Math.Min(buffer.Length, _length - _position);
        _current.AsMemory(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _buffers.Writer.TryComplete();
            if (_current is not null)
            {
                ArrayPool<byte>.Shared.Return(_current);
                _current = null;
            }

            while (_buffers.Reader.TryRead(out var left))
            {
                ArrayPool<byte>.Shared.Return(left.Array);
            }
        }

        base.Dispose(disposing);
    }
}
