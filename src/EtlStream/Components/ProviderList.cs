using System.Collections.Immutable;

namespace EtlStream.Components;

/// <summary>
/// The list behind a registry of component providers (sinks, source stores): read without locks, and added to only
/// by tests, for the life of a handle, refusing a provider that clashes with one already listed.
/// </summary>
internal sealed class ProviderList<T>(ImmutableArray<T> providers)
    where T : class
{
    private ImmutableArray<T> _providers = providers;

    public ImmutableArray<T> Providers => _providers;

    /// <summary>The first provider, in list order, that <paramref name="match"/> accepts; null when none does.</summary>
    public T? Find(Func<T, bool> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        foreach (var p in _providers)
        {
            if (match(p))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>
    /// Adds <paramref name="provider"/> until the returned handle is disposed. <paramref name="clash"/> says why a listed
    /// provider and the new one cannot both be found (the same kind or scheme), or null when they can.
    /// </summary>
    /// <exception cref="ArgumentException">A listed provider clashes with it; the message is <paramref name="clash"/>'s.</exception>
    public IDisposable Add(T provider, Func<T, T, string?> clash)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(clash);
        ImmutableInterlocked.Update(ref _providers, list =>
        {
            foreach (var p in list)
            {
                if (clash(p, provider) is { } why)
                {
                    throw new ArgumentException(why, nameof(provider));
                }
            }

            return list.Add(provider);
        });
        return new Registration(this, provider);
    }

    private sealed class Registration(ProviderList<T> list, T provider) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref list._providers, l => l.Remove(provider));
    }
}
