using EtlStream.Sources;

namespace EtlStream.Compression;

/// <summary>
/// A forward-only read buffer over a (possibly non-seekable) stream that can look at the first bytes without
/// consuming them. Reads at least as large as the buffer bypass it once it is drained. Never disposes the inner stream.
/// </summary>
internal sealed class PeekableReadStream : ForwardReadStream
{
    private readonly Stream _inner;
    private readonly byte[] _buffer;
    private int _start;

    /// <summary>Bytes read from the raw stream so far, including what waits in the buffer.</summary>
    public long RawBytesRead { get; private set; }

    /// <summary>
    /// Bytes handed to the reader so far: the compressed side of a decompression ratio. Not <see cref="RawBytesRead"/>,
    /// which runs up to a buffer ahead: a bomb of 1 MiB read at once would otherwise be checked against all of it and
    /// pass the 1,000:1 check until a GiB came out.
    /// </summary>
    public long BytesConsumed { get; private set; }

    private int Counted(int n)
    {
        RawBytesRead += n;
        return n;
    }

    private int _end;
    private bool _innerEnded;
    private int _readsPastEnd;

    /// <summary>
    /// Reads answered "end of input" before the reader is taken to be looping: some decoders (SharpCompress's bzip2
    /// on corrupt block headers, found by fuzzing) read past the end forever instead of failing.
    /// </summary>
    private const int MaxReadsPastEnd = 1024;

    private int PastEnd() =>
        ++_readsPastEnd > MaxReadsPastEnd
            ? throw new InvalidDataException($"the decoder read past the end of the input {MaxReadsPastEnd:N0} times: the data is corrupt or truncated")
            : 0;

    public PeekableReadStream(Stream inner, int bufferSize)
    {
        _inner = inner;
        _buffer = new byte[bufferSize];
    }

    /// <summary>Returns up to <paramref name="count"/> leading unread bytes (fewer only at end of input).</summary>
    public async ValueTask<ReadOnlyMemory<byte>> PeekAsync(int count, CancellationToken cancellationToken)
    {
        if (_end - _start < count && _start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        while (_end - _start < count && !_innerEnded)
        {
            int n = Counted(await _inner.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false));
            if (n == 0)
            {
                _innerEnded = true;
            }

            _end += n;
        }

        return _buffer.AsMemory(_start, Math.Min(count, _end - _start));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_start == _end)
        {
            if (_innerEnded)
            {
                return PastEnd();
            }

            if (buffer.Length >= _buffer.Length)
            {
                return Consumed(Counted(_inner.Read(buffer)));
            }

            _start = 0;
            _end = Counted(_inner.Read(_buffer));
            if (_end == 0)
            {
                _innerEnded = true;
                return 0;
            }
        }

        return CopyOut(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_start == _end)
        {
            if (_innerEnded)
            {
                return PastEnd();
            }

            if (buffer.Length >= _buffer.Length)
            {
                return Consumed(Counted(await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)));
            }

            _start = 0;
            _end = Counted(await _inner.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false));
            if (_end == 0)
            {
                _innerEnded = true;
                return 0;
            }
        }

        return CopyOut(buffer.Span);
    }

    private int CopyOut(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        return Consumed(n);
    }

    private int Consumed(int n)
    {
        BytesConsumed += n;
        return n;
    }

    /// <summary>Whether the input holds no byte past what was read (it reads ahead to find out; nothing is consumed).</summary>
    public bool AtEnd()
    {
        if (_start < _end || _innerEnded)
        {
            return _start == _end;
        }

        _start = 0;
        _end = Counted(_inner.Read(_buffer));
        _innerEnded = _end == 0;
        return _innerEnded;
    }

    /// <inheritdoc cref="AtEnd"/>
    public async ValueTask<bool> AtEndAsync(CancellationToken cancellationToken)
    {
        if (_start < _end || _innerEnded)
        {
            return _start == _end;
        }

        _start = 0;
        _end = Counted(await _inner.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false));
        _innerEnded = _end == 0;
        return _innerEnded;
    }
}
