package io.dma4j.runtime;

import io.dma4j.api.DmaMapper;
import io.dma4j.platform.device.Device;

import java.lang.reflect.Proxy;

/**
 * What a chain's head calls once its runtime closed or released the device: every call
 * but {@link DmaMapper#device()} throws {@link IllegalStateException} naming the device,
 * the call and why. Not on any fast path (a dynamic proxy suffices).
 */
final class ClosedMapper {
    private ClosedMapper() {
    }

    static DmaMapper create(Device device, String why) {
        return (DmaMapper) Proxy.newProxyInstance(DmaMapper.class.getClassLoader(), new Class<?>[] {DmaMapper.class}, (proxy, method, args) -> {
            switch (method.getName()) {
                case "device":
                    return device;
                case "toString":
                    return "closed mapper of " + device.name();
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                default:
                    throw new IllegalStateException(device.name() + ": " + method.getName() + ": " + why);
            }
        });
    }
}
