using System.Net;
using EtlStream.Sources;

namespace EtlStream.Tests.Sources;

/// <summary>
/// What object stores add to the source contract, run against Azurite and s3rver: faults injected in the HTTP path
/// mid-read are retried to identical bytes, an object replaced mid-read fails, and refused credentials fail without
/// the secret in the message.
/// </summary>
public abstract class ObjectStoreContractTests : SourceStoreContractTests
{
    /// <summary>A store over <paramref name="space"/> whose secret is wrong, and that secret.</summary>
    protected abstract (ISourceStore Store, string Secret) StoreWithWrongSecret(string space);

    /// <summary>The message a listing refused for bad credentials gives, after the location.</summary>
    protected abstract string DeniedMessage { get; }

    [Fact]
    public async Task A_connection_reset_mid_body_is_retried_to_identical_bytes()
    {
        var space = await SourceContractData.SeedAsync(Bench);
        using var faults = new FaultInjectingHandler("formats/large.csv.gz", FaultInjectingHandler.Fault.ResetMidBody);
        var file = Assert.Single(await Bench.Store(space, SmallBlocks, faults).ListAsync("formats/large.csv.gz", null, default));

        Assert.Equal(SourceContractData.Objects["formats/large.csv.gz"].Stored, await ReadAllAsync(file));
        Assert.Equal(1, faults.Injected);
        Assert.True(faults.Reads > (file.Length + SmallBlocks.BlockSize - 1) / SmallBlocks.BlockSize, $"{faults.Reads} reads: the broken block was not read again");
    }

    [Fact]
    public async Task A_503_is_retried_to_identical_bytes()
    {
        var space = await SourceContractData.SeedAsync(Bench);
        using var faults = new FaultInjectingHandler("formats/large.zip", FaultInjectingHandler.Fault.ServiceUnavailable);
        var file = Assert.Single(await Bench.Store(space, SmallBlocks, faults).ListAsync("formats/large.zip", null, default));

        Assert.Equal(SourceContractData.Objects["formats/large.zip"].Stored, await ReadAllAsync(file));
        Assert.Equal(1, faults.Injected);
    }

    [Fact]
    public async Task An_object_replaced_mid_read_fails_rather_than_mixing_versions()
    {
        var space = await Bench.NewSpaceAsync();
        await Bench.PutAsync(space, "moving.csv", SourceContractData.Csv(1_000_000, seed: 6));
        var file = Assert.Single(await Bench.Store(space, SmallBlocks with { MaxInFlight = 1 }).ListAsync("moving.csv", null, default));
        await using var stream = await file.Open(default);
        var first = new byte[1000];
        await stream.ReadExactlyAsync(first);
        await Bench.PutAsync(space, "moving.csv", SourceContractData.Csv(1_000_000, seed: 7));

        var e = await Assert.ThrowsAsync<SourceException>(() => stream.CopyToAsync(Stream.Null));
        Assert.Equal(SourceFailure.Changed, e.Failure);
        Assert.Equal($"{Bench.DisplayName(space, "moving.csv")}: the object changed while it was read (listed at version {file.Version}, now another); the file fails rather than mixing versions", e.Message);
    }

    [Fact]
    public async Task Refused_credentials_fail_naming_the_location_without_the_secret()
    {
        var space = await SourceContractData.SeedAsync(Bench);
        var (store, secret) = StoreWithWrongSecret(space);
        var e = await Assert.ThrowsAsync<SourceException>(() => store.ListAsync("daily/*.csv", null, default));
        Assert.Equal(SourceFailure.Denied, e.Failure);
        Assert.Equal($"{Bench.DisplayName(space, "daily/*.csv")}: {DeniedMessage}", e.Message);
        Assert.DoesNotContain(secret, e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Uri.EscapeDataString(secret), e.ToString(), StringComparison.Ordinal);
    }
}

/// <summary>
/// An HTTP handler in the store's client that breaks the first GET of one object: the body resets after 10 KB, or
/// the server answers 503. Every other request goes to the server untouched.
/// </summary>
public sealed class FaultInjectingHandler(string objectName, FaultInjectingHandler.Fault fault) : DelegatingHandler(new SocketsHttpHandler())
{
    private int _armed = 1;
    private int _injected;
    private int _reads;

    public enum Fault
    {
        ResetMidBody,
        ServiceUnavailable,
    }

    public int Injected => _injected;

    /// <summary>GETs of the object seen.</summary>
    public int Reads => _reads;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = request.Method == HttpMethod.Get && Uri.UnescapeDataString(request.RequestUri!.AbsolutePath).EndsWith("/" + objectName, StringComparison.Ordinal);
        if (!target)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        Interlocked.Increment(ref _reads);
        var fire = Interlocked.Exchange(ref _armed, 0) == 1;
        if (fire && fault == Fault.ServiceUnavailable)
        {
            Interlocked.Increment(ref _injected);
            return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request, Content = new ByteArrayContent([]) };
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (fire)
        {
            Interlocked.Increment(ref _injected);
            var inner = await response.Content.ReadAsStreamAsync(cancellationToken);
            var broken = new StreamContent(new ResettingStream(inner, 10_000));
            foreach (var header in response.Content.Headers)
            {
                broken.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Content = broken;
        }

        return response;
    }

    /// <summary>Gives <c>limit</c> bytes of the body, then fails as a reset connection does.</summary>
    private sealed class ResettingStream(Stream inner, int limit) : EtlStream.Sources.ForwardReadStream
    {
        private int _left = limit;

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left == 0)
            {
                throw new IOException("Connection reset by peer (injected)");
            }

            var n = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, _left)], cancellationToken);
            _left -= n;
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
