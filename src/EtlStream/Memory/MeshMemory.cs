namespace EtlStream.Memory;

/// <summary>
/// The bytes a run's batches may hold at once, counted across the whole mesh. Block capacities bound how many
/// batches are in flight and the plan how big each should be, but a record longer than a batch makes a batch as big
/// as the record, in every slot; this counter bounds slots × size whatever the records are. A parsed batch takes a
/// <see cref="MeshGrant"/> for itself and its transformed copy before it enters the mesh and gives it back once the
/// sink has written it. Waiting is first come, first served, so a big batch is not starved by small ones.
/// </summary>
public sealed class MeshMemory
{
    private readonly LinkedList<Waiter> _waiters = new();
    private long _used;
    private long _parked;
    private long _highWater;

    public MeshMemory(long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        Limit = limit;
    }

    /// <summary>The bytes grants may hold together.</summary>
    public long Limit { get; }

    /// <summary>The bytes granted now.</summary>
    public long Used
    {
        get
        {
            lock (_waiters)
            {
                return _used;
            }
        }
    }

    /// <summary>The most bytes granted at once so far: at most <see cref="Limit"/> unless one batch alone was larger.</summary>
    public long HighWater
    {
        get
        {
            lock (_waiters)
            {
                return _highWater;
            }
        }
    }

    /// <summary>
    /// Waits until <paramref name="bytes"/> fit under the limit, then grants them. A grant larger than the limit is
    /// given once the only bytes held are parked (a chunk waiting for more rows of a file whose reader is the one
    /// asking): otherwise a record longer than the budget, or a chunker's partial chunk, would wait forever.
    /// </summary>
    public async ValueTask<MeshGrant> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Waiter waiter;
        lock (_waiters)
        {
            if (_waiters.Count == 0 && Fits(bytes))
            {
                Take(bytes);
                return new MeshGrant(this, bytes);
            }

            waiter = new Waiter(bytes);
            waiter.Node = _waiters.AddLast(waiter);
        }

        await using (cancellationToken.Register(static w => ((Waiter)w!).Cancel(), waiter).ConfigureAwait(false))
        {
            await waiter.Granted.Task.ConfigureAwait(false);
        }

        return new MeshGrant(this, bytes);
    }

    private bool Fits(long bytes) => _used + bytes <= Limit || _used == _parked;

    private void Take(long bytes)
    {
        _used += bytes;
        _highWater = Math.Max(_highWater, _used);
    }

    /// <summary>Grants more to a held grant without waiting: a transformed batch larger than its reservation.</summary>
    internal void Grow(long bytes)
    {
        lock (_waiters)
        {
            Take(bytes);
        }
    }

    internal void Release(long bytes)
    {
        lock (_waiters)
        {
            _used -= bytes;
            WakeWaiters();
        }
    }

    internal void Park(long bytes, bool parked)
    {
        lock (_waiters)
        {
            _parked += parked ? bytes : -bytes;
            WakeWaiters();
        }
    }

    private void WakeWaiters()
    {
        while (_waiters.First is { } first && Fits(first.Value.Bytes))
        {
            _waiters.RemoveFirst();
            first.Value.Node = null;
            Take(first.Value.Bytes);
            first.Value.Granted.TrySetResult();
        }
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public void Cancel()
        {
            var memory = Node?.List;
            if (memory is null)
            {
                return;
            }

            // Removed under the owner's lock; a waiter granted meanwhile keeps its grant and is released by its caller.
            lock (memory)
            {
                if (Node?.List is { } list)
                {
                    list.Remove(Node);
                    Node = null;
                    Granted.TrySetCanceled();
                }
            }
        }
    }
}

/// <summary>
/// Bytes of the mesh's budget held by one batch, from parsing until the sink has written it: its parsed form and
/// then its transformed form. Disposing gives back what is still held.
/// </summary>
public sealed class MeshGrant : IDisposable
{
    private readonly MeshMemory _memory;
    private long _held;
    private bool _parked;

    internal MeshGrant(MeshMemory memory, long bytes)
    {
        _memory = memory;
        _held = bytes;
    }

    /// <summary>The bytes held now.</summary>
    public long Held => Volatile.Read(ref _held);

    /// <summary>Holds at least <paramref name="bytes"/>, taking any more without waiting (the batch already exists).</summary>
    public void HoldAtLeast(long bytes)
    {
        if (bytes > _held)
        {
            _memory.Grow(bytes - _held);
            _held = bytes;
        }
    }

    /// <summary>Gives back what is held beyond <paramref name="bytes"/>: the parsed batch was freed, its transformed copy remains.</summary>
    public void ShrinkTo(long bytes)
    {
        if (bytes < _held)
        {
            _memory.Release(_held - bytes);
            _held = bytes;
        }
    }

    /// <summary>
    /// Marks the batch as waiting in a partial chunk: it is given back only when more of its file arrives, so a
    /// reader waiting for memory must not wait for it.
    /// </summary>
    public void SetParked(bool parked)
    {
        if (parked != _parked)
        {
            _parked = parked;
            _memory.Park(_held, parked);
        }
    }

    public void Dispose()
    {
        SetParked(false);
        var held = Interlocked.Exchange(ref _held, 0);
        if (held > 0)
        {
            _memory.Release(held);
        }
    }
}
