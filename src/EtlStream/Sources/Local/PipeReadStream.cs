namespace EtlStream.Sources.Local;

/// <summary>
/// Reads a pipe, FIFO or terminal, whose reads wait in read(2) where no cancellation token reaches: each read runs
/// on a pool thread into a buffer of this stream's own, so a cancelled read returns at once and the read left waiting
/// can never write into a caller's buffer that was handed back meanwhile. The next read takes over the waiting one.
/// </summary>
internal sealed class PipeReadStream(Stream inner) : ForwardReadStream
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private Task<int>? _pending;
    private int _offset;
    private int _count;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        if (_count == 0)
        {
            var n = _pending is { } waiting ? waiting.GetAwaiter().GetResult() : inner.Read(_buffer, 0, _buffer.Length);
            _pending = null;
            if (n == 0)
            {
                return 0;
            }

            (_offset, _count) = (0, n);
        }

        return Take(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        if (_count == 0)
        {
            _pending ??= Task.Run(() => inner.Read(_buffer, 0, _buffer.Length), CancellationToken.None);
            var n = await _pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            _pending = null;
            if (n == 0)
            {
                return 0;
            }

            (_offset, _count) = (0, n);
        }

        return Take(buffer.Span);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // A read still waiting holds the handle until it returns; the descriptor closes then.
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Take(Span<byte> buffer)
    {
        var take = Math.Min(_count, buffer.Length);
        _buffer.AsSpan(_offset, take).CopyTo(buffer);
        _offset += take;
        _count -= take;
        return take;
    }
}
