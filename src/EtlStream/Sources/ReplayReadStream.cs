namespace EtlStream.Sources;

/// <summary>
/// Keeps what is read through it, up to a limit, so that a read-once input (<see cref="SourceFile.ReadOnce"/>) can be
/// read from its start a second time: a first reader takes the header, then <see cref="Replay"/> hands the kept bytes
/// and the rest of the input to the load. Disposing it before <see cref="Replay"/> keeps the input open for that.
/// </summary>
internal sealed class ReplayReadStream(Stream inner, string name, long limit) : ForwardReadStream
{
    private readonly MemoryStream _kept = new();
    private bool _replaying;
    private bool _replayed;

    /// <summary>This stream again from the first byte; it owns the input from now on. Only once: the input cannot be read a third time.</summary>
    public Stream Replay()
    {
        if (_replayed)
        {
            throw new SourceException(name, SourceFailure.Failed, "a stream (standard input, a pipe, a FIFO) can be read only once");
        }

        _replayed = _replaying = true;
        _kept.Position = 0;
        return this;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_replaying)
        {
            var n = _kept.Read(buffer);
            if (n > 0)
            {
                return n;
            }

            Release();
            return inner.Read(buffer);
        }

        var read = inner.Read(buffer);
        Keep(buffer[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_replaying)
        {
            var n = _kept.Read(buffer.Span);
            if (n > 0)
            {
                return n;
            }

            Release();
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Keep(buffer.Span[..read]);
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        // Before the replay, the reader of the header is done, not the input.
        if (disposing && _replayed)
        {
            _kept.Dispose();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_replayed)
        {
            await _kept.DisposeAsync().ConfigureAwait(false);
            await inner.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        if (_kept.Length + bytes.Length > limit)
        {
            throw new SourceException(name, SourceFailure.Failed, $"more than {limit / (1024 * 1024)} MiB read to find the header; a stream (standard input, a pipe, a FIFO) is read once, and no more than that is kept to read again");
        }

        _kept.Write(bytes);
    }

    /// <summary>The kept bytes are read: free them.</summary>
    private void Release()
    {
        if (_kept.Capacity > 0)
        {
            _kept.SetLength(0);
            _kept.Capacity = 0;
        }
    }
}
